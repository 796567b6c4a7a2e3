// Umbrella header for programs that link libsculpt.
#pragma once
#include "sculpt/core/error.h"
#include "sculpt/core/tensor.h"
#include "sculpt/core/threads.h"
#include "sculpt/io/gguf.h"
#include "sculpt/io/model_config.h"
#include "sculpt/io/safetensors.h"
#include "sculpt/model/forward.h"
#include "sculpt/model/generate.h"
#include "sculpt/model/llama.h"
#include "sculpt/text/tokenizer.h"
