#!/usr/bin/env bash
# sculpt chat through a terminal (tmux): SmolLM2 from its GGUF answers a question through its
# template, a small --max-context makes the conversation outgrow it (the oldest exchange is
# dropped, with a note), /reset clears it, /exit ends with status 0.
#   chat_tmux_test.sh SCULPT MODEL.gguf      (exit 77: skipped)
set -uo pipefail
sculpt=$1 model=$2
command -v tmux >/dev/null || { echo "skipped: tmux is not installed"; exit 77; }
[ -f "$model" ] || { echo "skipped: $model is absent; run 'bash scripts/get-models.sh smollm2'"; exit 77; }
session="sculpt-chat-test-$$"
log=$(mktemp)
trap 'tmux kill-session -t "$session" 2>/dev/null; rm -f "$log"' EXIT
tmux new-session -d -s "$session" -x 200 -y 50 \
  "'$sculpt' chat -m '$model' --max-context 96 -n 24 --threads 2 2>/dev/null; echo CHAT-EXITED \$?; sleep 600"
screen() { tmux capture-pane -p -S -200 -t "$session"; }
# Waits until the screen has shown $2 prompts ("> ") in total, or fails after 180 s.
wait_prompts() {
  for _ in $(seq 360); do
    [ "$(screen | grep -cE '^>( |$)')" -ge "$1" ] && return 0
    sleep 0.5
  done
  echo "FAILED: no prompt number $1 after 180 s; the screen:"; screen; exit 1
}
say() { tmux send-keys -t "$session" -l "$1"; tmux send-keys -t "$session" Enter; }
fail=0
expect() { screen | grep -q -- "$1" || { echo "FAILED: the screen lacks '$1'"; fail=1; }; }
wait_prompts 1
say "What is the capital of France?"; wait_prompts 2
expect "Paris"
say "And of Italy?"; wait_prompts 3
say "And of Spain?"; wait_prompts 4
expect "(context full: the oldest"
say "/reset"; wait_prompts 5
expect "(conversation cleared)"
say "/exit"
for _ in $(seq 20); do screen | grep -q "CHAT-EXITED" && break; sleep 0.5; done
expect "CHAT-EXITED 0"
screen > "$log"
cat "$log" | grep -v "^$"
[ $fail -eq 0 ] && echo "chat through tmux: answered, dropped the oldest exchange at a 96-token context, reset, exited 0"
exit $fail
