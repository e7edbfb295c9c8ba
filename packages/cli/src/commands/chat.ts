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
 * Commands: /clear forgets the conversation, /bye (or Ctrl-D) exits; Ctrl-C stops the current reply
 * and keeps the session.
 */
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import {
  ContextLengthError, createContinuationStream, generate, renderChat, validateSamplingOptions, type ChatMessage, type GenerationStats, type InferenceSession,
  type SamplingOptions,
} from '@phi3/model';
import {
  addMaxTokensOption, addWeightPlacementOptions, addModelOption, addPromptFormatOptions, addSamplingOptions, isVerbose, maxTokensFromFlags,
  oneLineErrors, samplingFromFlags, type SamplingFlags, type WeightPlacementFlags,
} from '../options.ts';
import { formatSpeed, stderrStatus, statusLine } from '../progress.ts';
import { openModel, stopNote, usesChatTemplate, type OpenedModel, type PromptFormatFlags } from '../load-model.ts';

interface ChatFlags extends SamplingFlags, PromptFormatFlags, WeightPlacementFlags {
  model?: string;
}

export function register(program: Command): void {
  const cmd = oneLineErrors(program.command('chat'))
    .description('interactive chat (/clear forgets the conversation, /bye exits, Ctrl-C stops a reply)');
  addModelOption(cmd, false);
  addMaxTokensOption(cmd, 256);
  addSamplingOptions(cmd);
  addPromptFormatOptions(cmd);
  addWeightPlacementOptions(cmd);
  cmd.action(async (flags: ChatFlags, self: Command) => {
    const sampling = samplingFromFlags(flags);
    validateSamplingOptions(sampling);
    const maxNewTokens = maxTokensFromFlags(self, flags);
    const status = stderrStatus(isVerbose(self));
    const opened = openModel(flags.model, status, flags);
    const chat = new Conversation(opened, usesChatTemplate(opened, flags), flags.system);
    statusLine(status, `${chat.templated ? 'chat template' : 'raw text'} mode; /clear forgets the conversation, /bye exits, Ctrl-C stops a reply`);

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
          // A full context ends the turn, not the session.
          if (!(err instanceof ContextLengthError)) throw err;
          process.stderr.write(`error: ${err.message} (/clear to start over)\n`);
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

/** The conversation state of one chat: messages, the session (KV cache) and what it holds. */
class Conversation {
  readonly session: InferenceSession;
  private messages: ChatMessage[] = [];
  /** Tokens generated but not fed yet (the last token of a reply is sampled, never fed). */
  private pending: number[] = [];
  /** The reply ended with an EOS id: the template writes its own end-of-turn marker, so it is not fed. */
  private pendingIsEos = false;
  /** Template mode: the conversation text the cache holds (+ pending), as the template renders it. */
  private transcript = '';
  turns = 0;

  constructor(
    private readonly opened: OpenedModel,
    readonly templated: boolean,
    private readonly system: string | undefined,
  ) {
    this.session = opened.createSession();
  }

  clear(): void {
    this.session.reset();
    this.messages = [];
    this.pending = [];
    this.transcript = '';
  }

  /** Streams one reply to stdout; returns its statistics (null when aborted before the first token). */
  async reply(userText: string, o: ReplyOptions): Promise<GenerationStats | null> {
    const { tokenizer } = this.opened;
    const before = { transcript: this.transcript, pending: this.pending, pendingIsEos: this.pendingIsEos };
    this.messages.push({ role: 'user', content: userText });
    const newIds = this.templated ? this.templatedTokensToFeed() : this.rawTokensToFeed(userText);
    let text = '';
    let last: GenerationStats | null = null;
    const generated: number[] = [];
    const history = this.session.tokens;
    const steps = generate(this.session, createContinuationStream(tokenizer, [...history, ...newIds]), {
      promptIds: newIds, history, maxNewTokens: o.maxNewTokens,
      contextLength: this.opened.contextLength, sampling: o.sampling, eosIds: this.opened.eosIds,
      ignoreEos: o.ignoreEos, stop: o.stop, signal: o.signal,
    });
    try {
      for await (const step of steps) {
        process.stdout.write(step.text);
        text += step.text;
        generated.push(step.token);
        last = step.stats;
      }
    } catch (err) {
      if (generated.length === 0) {
        // The turn never happened (e.g. context full): the session still holds the previous state.
        this.messages.pop();
        ({ transcript: this.transcript, pending: this.pending, pendingIsEos: this.pendingIsEos } = before);
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

  /** Template mode: the tokens of what the template adds after the cached conversation (see the file comment). */
  private templatedTokensToFeed(): number[] {
    const { tokenizer } = this.opened;
    const full = renderChat(tokenizer, this.messages, { system: this.system, addGenerationPrompt: true });
    let ids: number[];
    if (this.session.length > 0 && full.startsWith(this.transcript)) {
      ids = [...(this.pendingIsEos ? [] : this.pending), ...tokenizer.encode(full.slice(this.transcript.length))];
    } else {
      this.session.reset();
      ids = tokenizer.encode(full);
    }
    this.transcript = full;
    this.pending = [];
    return ids;
  }

  /** Raw mode: the pending last reply token, then the typed text (BOS first, as the tokenizer says, on turn one). */
  private rawTokensToFeed(userText: string): number[] {
    const { tokenizer } = this.opened;
    const first = this.session.length === 0 && this.pending.length === 0;
    const ids = [...this.pending, ...tokenizer.encode(userText, { addBos: first && tokenizer.addBosByDefault })];
    this.pending = [];
    return ids;
  }
}
