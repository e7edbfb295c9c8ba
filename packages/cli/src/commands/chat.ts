/**
 * `phi3 chat`: an interactive multi-turn conversation (llama-cli's conversation mode).
 *
 * The KV cache lives across turns and keeps each reply's tokens as they were generated (llama.cpp
 * does the same): a new turn feeds only the text the chat template adds after the last reply
 * (`<|end|>\n<|user|>\n…<|end|>\n<|assistant|>\n`), found as the difference between the rendered
 * conversation and the text already in the cache. Re-tokenizing the whole conversation instead would
 * not reproduce the cache (SentencePiece puts a "▁" before a reply that follows a special token, so
 * `,` is generated as 29892 but re-encoded as 1919) and would force a full re-prefill every turn.
 * If a template rewrites earlier turns, the session starts over and re-prefills: slower, never wrong.
 * Models run raw (the embedded default) get each typed line appended as plain text.
 *
 * Images (phi3_v models, as llama.cpp's mtmd-cli does it): `--image FILE` (repeatable) attaches to the
 * first turn, `/image FILE` to the next one. A turn with images gets `<|image_k|>\n` tags in front
 * when the line has none, numbered across the conversation (the processor's numbering: tag k is the
 * k-th image), and re-prefills the whole conversation through `prepareVisionPrompt` with every image so
 * far; the image rows only enter the cache with a full prompt. Text-only turns after it stay incremental.
 *
 * Commands: /image FILE attaches an image, /clear starts over (as at launch: the --image files attach
 * to the next turn again), /bye (or Ctrl-D) exits; Ctrl-C stops the current reply and keeps the session.
 */
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import {
  ContextLengthError, ImageError, createContinuationStream, generate, prepareVisionPrompt, readImage, renderChat, withImageTags, validateSamplingOptions,
  visionDecoder, visionLogitsSession, type ChatMessage, type GenerationStats, type InferenceSession, type SamplingOptions, type VisionPrompt,
} from '@phi3/model';
import {
  addMaxTokensOption, addWeightPlacementOptions, addModelOption, addPromptFormatOptions, addSamplingOptions, isVerbose, maxTokensFromFlags,
  oneLineErrors, samplingFromFlags, type SamplingFlags, type WeightPlacementFlags,
} from '../options.ts';
import { formatSpeed, stderrStatus, statusLine } from '../progress.ts';
import { openModel, stopNote, usesChatTemplate, type OpenedModel, type PromptFormatFlags } from '../load-model.ts';
import { checkImageFlags, whyNoImages } from '../images.ts';

interface ChatFlags extends SamplingFlags, PromptFormatFlags, WeightPlacementFlags {
  model?: string;
  image: string[];
}

export function register(program: Command): void {
  const cmd = oneLineErrors(program.command('chat'))
    .description('interactive chat (/image FILE attaches an image, /clear forgets the conversation, /bye exits, Ctrl-C stops a reply)');
  addModelOption(cmd, false);
  addMaxTokensOption(cmd, 256);
  addSamplingOptions(cmd);
  addPromptFormatOptions(cmd);
  addWeightPlacementOptions(cmd);
  cmd.option('--image <file>', 'PNG/JPEG for a vision model (repeatable), attached to the first turn (<|image_1|>, … in front when absent)', (v: string, prev: string[]) => [...prev, v], []);
  cmd.action(async (flags: ChatFlags, self: Command) => {
    const sampling = samplingFromFlags(flags);
    validateSamplingOptions(sampling);
    const maxNewTokens = maxTokensFromFlags(self, flags);
    const status = stderrStatus(isVerbose(self));
    const opened = openModel(flags.model, status, flags);
    checkImageFlags(opened, flags.image);
    const noImages = whyNoImages(opened);
    const chat = new Conversation(opened, usesChatTemplate(opened, flags), flags.system, flags.image);
    const commands = `${noImages ? '' : '/image FILE attaches an image, '}/clear forgets the conversation, /bye exits, Ctrl-C stops a reply`;
    statusLine(status, `${chat.templated ? 'chat template' : 'raw text'} mode; ${commands}`);

    const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });
    let replying: AbortController | null = null;
    const interrupt = (): void => {
      if (replying) replying.abort();
      else { process.stdout.write('\n(/bye or Ctrl-D to exit)\n'); rl.prompt(); }
    };
    rl.on('SIGINT', interrupt); // Ctrl-C typed in the terminal (readline raw mode)
    process.on('SIGINT', interrupt); // a real signal (stdin not a terminal)

    rl.prompt();
    for await (const line of rl) {
      const input = line.trim();
      if (input === '/bye') break;
      if (input === '/clear') {
        chat.clear();
        process.stdout.write('(conversation cleared)\n');
      } else if (/^\/image(\s|$)/.test(input)) {
        const path = input.slice('/image'.length).trim();
        try {
          chat.attachImage(path);
          process.stdout.write(`(${path} attached to the next turn)\n`);
        } catch (err) {
          if (!(err instanceof ImageError)) throw err;
          process.stderr.write(`error: ${err.message}\n`);
        }
      } else if (input !== '') {
        replying = new AbortController();
        try {
          const stats = await chat.reply(line, {
            maxNewTokens, sampling: { ...sampling, seed: (sampling.seed + chat.turns) >>> 0 }, // reproducible per turn
            stop: flags.stop, ignoreEos: flags.ignoreEos, signal: replying.signal,
          });
          process.stdout.write(replying.signal.aborted ? '\n[reply stopped]\n' : '\n');
          const note = stats && stopNote(stats, opened.contextLength);
          if (note) process.stderr.write(`${note}\n`);
          if (stats) statusLine(status, `${formatSpeed(stats)} | context ${chat.session.length}/${opened.contextLength}`);
        } catch (err) {
          // A full context or a bad image tag ends the turn, not the session.
          if (!(err instanceof ContextLengthError || err instanceof ImageError)) throw err;
          process.stderr.write(`error: ${err.message}${err instanceof ContextLengthError ? ' (/clear to start over)' : ''}\n`);
        } finally {
          replying = null;
        }
      }
      rl.prompt();
    }
    rl.close();
    process.off('SIGINT', interrupt);
    process.stdout.write('\n');
  });
}

interface ReplyOptions {
  maxNewTokens: number;
  sampling: SamplingOptions;
  stop: string[];
  ignoreEos?: boolean;
  signal: AbortSignal;
}

/** The conversation state of one chat: messages, images, the session (KV cache) and what it holds. */
class Conversation {
  readonly session: InferenceSession;
  private messages: ChatMessage[] = [];
  /** The conversation's images in tag order: `<|image_k|>` is `images[k - 1]`. */
  private images: string[] = [];
  /** Images for the next user turn (the --image files at the start, then /image FILE). */
  private attached: string[];
  /** Tokens generated but not fed yet (the last token of a reply is sampled, never fed). */
  private pending: number[] = [];
  /** The reply ended with an EOS id: the template writes its own end-of-turn marker, so it is not fed. */
  private pendingIsEos = false;
  /** The conversation text the cache holds (+ pending), as `render` writes it. */
  private transcript = '';
  turns = 0;

  constructor(
    private readonly opened: OpenedModel,
    readonly templated: boolean,
    private readonly system: string | undefined,
    private readonly startImages: readonly string[],
  ) {
    this.session = opened.createSession();
    this.attached = [...startImages];
  }

  /** Starts over as at launch (the --image files attach to the next turn again). */
  clear(): void {
    this.session.reset();
    this.messages = [];
    this.images = [];
    this.attached = [...this.startImages];
    this.pending = [];
    this.transcript = '';
  }

  /**
   * Attaches an image file to the next turn.
   * @throws ImageError when the model takes no images or the file is unreadable/unsupported
   */
  attachImage(path: string): void {
    if (path === '') throw new ImageError('/image needs a file: /image FILE');
    visionDecoder(this.opened.model);
    readImage(path);
    this.attached.push(path);
  }

  /** Streams one reply to stdout; returns its statistics (null when aborted before the first token). */
  async reply(userText: string, o: ReplyOptions): Promise<GenerationStats | null> {
    const { tokenizer } = this.opened;
    const before = { transcript: this.transcript, pending: this.pending, pendingIsEos: this.pendingIsEos, images: this.images, attached: this.attached };
    this.messages.push({ role: 'user', content: withImageTags(userText, this.attached.length, this.images.length) });
    const newImages = this.attached.length > 0;
    this.images = [...this.images, ...this.attached];
    this.attached = [];
    let text = '';
    let last: GenerationStats | null = null;
    const generated: number[] = [];
    try {
      const { ids: newIds, vision } = this.tokensToFeed(newImages);
      const history = this.session.tokens;
      const session = vision ? visionLogitsSession(this.session, vision) : this.session;
      const steps = generate(session, createContinuationStream(tokenizer, [...history, ...newIds]), {
        promptIds: newIds, history, maxNewTokens: o.maxNewTokens,
        contextLength: this.opened.contextLength, sampling: o.sampling, eosIds: this.opened.eosIds,
        ignoreEos: o.ignoreEos, stop: o.stop, signal: o.signal,
      });
      for await (const step of steps) {
        process.stdout.write(step.text);
        text += step.text;
        generated.push(step.token);
        last = step.stats;
      }
    } catch (err) {
      if (generated.length === 0) {
        // The turn never happened (e.g. context full, bad image tag): back to the state before it.
        // A reset cache is not restored; the next turn sees it empty and re-prefills.
        this.messages.pop();
        ({ transcript: this.transcript, pending: this.pending, pendingIsEos: this.pendingIsEos, images: this.images, attached: this.attached } = before);
      }
      throw err;
    }
    // The session now holds every generated token but the last (see `generate`).
    this.pending = generated.slice(-1);
    this.pendingIsEos = last?.stopReason === 'eos';
    this.messages.push({ role: 'assistant', content: text });
    this.transcript += text;
    this.turns++;
    return last;
  }

  /** The whole conversation as text: the chat template's rendering, or in raw mode the lines and replies run together. */
  private render(): string {
    if (!this.templated) return this.messages.map((m) => m.content).join('');
    return renderChat(this.opened.tokenizer, this.messages, { system: this.system, addGenerationPrompt: true });
  }

  /**
   * The tokens this turn feeds (see the file comment): what the conversation adds after the cached
   * text, or — first turn, a turn with new images, a template that rewrote earlier turns — the whole
   * conversation into a reset cache, with every image so far spliced in (`vision`).
   */
  private tokensToFeed(newImages: boolean): { ids: number[]; vision: VisionPrompt | null } {
    const { model, tokenizer } = this.opened;
    const full = this.render();
    let ids: number[];
    let vision: VisionPrompt | null = null;
    if (this.session.length > 0 && !newImages && full.startsWith(this.transcript)) {
      // Raw text has no end-of-turn marker of its own: there an EOS that ended the reply is fed like any token.
      const pending = this.templated && this.pendingIsEos ? [] : this.pending;
      ids = [...pending, ...tokenizer.encode(full.slice(this.transcript.length))];
    } else {
      if (this.images.length > 0) vision = prepareVisionPrompt(model, tokenizer, full, this.images); // may throw: before the reset
      ids = vision ? [...vision.tokens] : tokenizer.encode(full, { addBos: !this.templated && tokenizer.addBosByDefault });
      this.session.reset();
    }
    this.transcript = full;
    this.pending = [];
    return { ids, vision };
  }
}

