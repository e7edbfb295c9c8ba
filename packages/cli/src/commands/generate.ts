/**
 * `phi3 generate`: one completion, streamed to stdout token by token.
 * Flags follow llama-cli (`-m -p -f -n --temp --top-k --top-p --min-p --repeat-penalty
 * --repeat-last-n -s --stop --ignore-eos`); prompt from -p, -f or stdin. Load progress and the
 * tokens/s line go to stderr (see progress.ts).
 */
import { Command } from 'commander';
import {
  createContinuationStream, generate, prepareVisionPrompt, renderChat, validateSamplingOptions, visionLogitsSession, withImageTags,
  type VisionPrompt,
} from '@phi3/model';
import {
  addMaxTokensOption, addWeightPlacementOptions, addModelOption, addPromptFormatOptions, addPromptOptions, addSamplingOptions,
  isVerbose, maxTokensFromFlags, oneLineErrors, readPrompt, samplingFromFlags, type SamplingFlags, type WeightPlacementFlags,
} from '../options.ts';
import { formatSpeed, stderrStatus, statusLine } from '../progress.ts';
import { checkImageFlags } from '../images.ts';
import { encodePrompt, openModel, stopNote, usesChatTemplate, type OpenedModel, type PromptFormatFlags } from '../load-model.ts';

interface GenerateFlags extends SamplingFlags, PromptFormatFlags, WeightPlacementFlags {
  model?: string;
  prompt?: string;
  file?: string;
  image: string[];
}

export function register(program: Command): void {
  const cmd = oneLineErrors(program.command('generate'))
    .description('generate text from a prompt (-p TEXT, -f FILE or stdin); default model: fixtures/phi3-shakespeare-tiny');
  addModelOption(cmd, false);
  addPromptOptions(cmd);
  addMaxTokensOption(cmd, 128);
  addSamplingOptions(cmd);
  addPromptFormatOptions(cmd);
  addWeightPlacementOptions(cmd);
  cmd.option('--image <file>', 'PNG/JPEG for a vision model (repeatable): <|image_1|>, <|image_2|>, … in the prompt, put in front when absent', (v: string, prev: string[]) => [...prev, v], []);
  cmd.action(async (flags: GenerateFlags, self: Command) => {
    const sampling = samplingFromFlags(flags);
    validateSamplingOptions(sampling); // bad values → exit 2 before any loading
    const maxNewTokens = maxTokensFromFlags(self, flags);
    const verbose = isVerbose(self);
    const status = stderrStatus(verbose);
    const prompt = await readPrompt(flags);

    const loaded = openModel(flags.model, status, flags);
    checkImageFlags(loaded, flags.image);
    const vision = flags.image.length > 0 ? encodeVisionPrompt(loaded, prompt, flags, flags.image) : null;
    const promptIds = vision ? [...vision.tokens] : encodePrompt(loaded, prompt, flags);
    if (verbose) statusLine(status, `prompt: ${promptIds.length} tokens, seed ${sampling.seed}`);

    const session = vision ? visionLogitsSession(loaded.createSession(), vision) : loaded.createSession();
    // A reader that goes away (`… | head -1`) ends the process quietly: run-main.ts handles EPIPE for every command.
    let last = null;
    for await (const step of generate(session, createContinuationStream(loaded.tokenizer, promptIds), {
      promptIds, maxNewTokens, contextLength: loaded.contextLength, sampling, eosIds: loaded.eosIds,
      ignoreEos: flags.ignoreEos, stop: flags.stop,
    })) {
      if (step.text) process.stdout.write(step.text);
      last = step.stats;
    }
    if (last) {
      if (process.stdout.isTTY) process.stdout.write('\n'); // piped output stays exactly the generated text
      const note = stopNote(last, loaded.contextLength);
      if (note) process.stderr.write(`${note}\n`);
      statusLine(status, formatSpeed(last));
    }
  });
}

/**
 * A prompt with `--image` files for a phi3_v model (library: vision/vision-prompt.ts): missing
 * `<|image_k|>` tags go in front of the text, the chat template applies as for text prompts, and the
 * image rows are spliced into the prompt's input embeddings.
 */
function encodeVisionPrompt(loaded: OpenedModel, prompt: string, flags: PromptFormatFlags, images: string[]): VisionPrompt {
  const text = withImageTags(prompt, images.length);
  const rendered = usesChatTemplate(loaded, flags) ? renderChat(loaded.tokenizer, [{ role: 'user', content: text }], { system: flags.system }) : text;
  return prepareVisionPrompt(loaded.model, loaded.tokenizer, rendered, images);
}
