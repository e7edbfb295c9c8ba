/**
 * `phi3 convert IN -o OUT.gguf [--quantize f32|f16|bf16|q8_0|q4_0]`: a Hugging Face Phi-3 or Phi-3.5-MoE folder →
 * a GGUF file llama.cpp, ollama and LM Studio accept (same metadata keys, tensor names and
 * tokenizer.ggml.* as llama.cpp's convert_hf_to_gguf.py). Progress goes to stderr.
 */
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { convertToGguf, GGUF_OUT_TYPES, type GgufOutType } from '@phi3/model';
import { oneLineErrors } from '../options.ts';
import { createProgressBar, statusLine, stderrStatus } from '../progress.ts';
import { UsageError } from '../run-main.ts';

interface ConvertFlags {
  output: string;
  quantize: GgufOutType;
  force?: boolean;
}

export function register(program: Command): void {
  oneLineErrors(program.command('convert'))
    .description('convert a Hugging Face Phi-3 / Phi-3.5-MoE folder (config.json + *.safetensors [+ tokenizer.json]) to GGUF for llama.cpp')
    .argument('<model_dir>', 'Hugging Face model folder')
    .requiredOption('-o, --output <file>', 'GGUF file to write')
    .addOption(new Option('--quantize <type>', 'type of the 2-D weights (norms and MoE routers stay f32; with q4_0 the output head is q8_0, as llama-quantize keeps it higher)').choices(GGUF_OUT_TYPES).default('f16'))
    .option('-f, --force', 'overwrite the output file if it exists')
    .action((dir: string, flags: ConvertFlags) => {
      if (existsSync(flags.output) && !flags.force) throw new UsageError(`${flags.output} exists (use --force to overwrite)`);
      const status = stderrStatus(Boolean(program.opts().verbose));
      const bar = createProgressBar(status, `converting to ${flags.quantize}`);
      const result = convertToGguf(dir, flags.output, {
        outType: flags.quantize,
        onTensor: (i, total) => bar.update(i + 1, total),
      });
      bar.done(`wrote ${flags.output}: ${result.tensors} tensors, ${flags.quantize}`);
      if (!result.tokenizer) statusLine(stderrStatus(true), `warning: ${dir} has no tokenizer.json; the GGUF holds no vocabulary`);
    });
}
