/**
 * HTTP errors in OpenAI's JSON shape: `{"error": {"message", "type", "param", "code"}}` with the
 * status the official clients map to their error classes (openai-node `APIError.generate`:
 * 400 BadRequestError, 401 AuthenticationError, 404 NotFoundError, 5xx InternalServerError).
 * Library errors a client can cause (bad sampling values, a prompt past the context, a chat
 * template that rejects the messages) become 400s; anything else is a 500 that names no internals.
 */
import { ContextLengthError, InvalidArgumentError, TokenizerError } from '@phi3/model';

/** The `error` object of an OpenAI error response. */
export interface ApiErrorBody {
  readonly message: string;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
}

/** An error that knows its HTTP status and OpenAI error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The JSON response body. */
  toJSON(): { error: ApiErrorBody } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400: a request field has the wrong type or value. */
export function invalidParam(param: string, message: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, 'invalid_value');
}

/** 401: missing or wrong `Authorization: Bearer` key (OpenAI's code for it). */
export function invalidApiKey(): ApiError {
  return new ApiError(401, 'Incorrect or missing API key: send it as "Authorization: Bearer KEY"', 'invalid_request_error', null, 'invalid_api_key');
}

/** 404: the request names a model this server does not serve. */
export function modelNotFound(model: string, served: string): ApiError {
  return new ApiError(404, `The model '${model}' does not exist; this server serves '${served}'`, 'invalid_request_error', 'model', 'model_not_found');
}

/** 403: a loopback-only server got a request addressed to another host name (DNS rebinding). */
export function forbiddenHost(host: string): ApiError {
  return new ApiError(403, `Host '${host}' is not served: this server listens on loopback and answers only requests addressed to localhost or a loopback IP (start it with --host to serve other names)`, 'invalid_request_error', null, 'forbidden_host');
}

/** 404: no such route. */
export function unknownUrl(method: string, path: string): ApiError {
  return new ApiError(404, `Unknown request URL: ${method} ${path}`, 'invalid_request_error', null, 'unknown_url');
}

/** 405: a known route with the wrong method. */
export function methodNotAllowed(method: string, path: string): ApiError {
  return new ApiError(405, `Method ${method} is not allowed on ${path}`, 'invalid_request_error', null, 'method_not_allowed');
}

/** 413: the request body exceeds the server's limit. */
export function bodyTooLarge(limit: number): ApiError {
  return new ApiError(413, `Request body is larger than the limit of ${limit} bytes`, 'invalid_request_error', null, 'request_too_large');
}

/** 503: every generation slot is busy and the wait queue is full. */
export function serverBusy(): ApiError {
  return new ApiError(503, 'The server is busy: every generation slot is taken and the queue is full; retry later', 'server_error', null, 'server_busy');
}

/**
 * Maps anything thrown while serving a request to an ApiError: library errors caused by the
 * request's content are 400s, anything else is an internal 500 (the message is logged, not sent).
 * @param param the request field the prompt came from (`messages` or `prompt`), for context errors
 */
export function toApiError(err: unknown, param: string | null = null): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ContextLengthError) return new ApiError(400, err.message, 'invalid_request_error', param, 'context_length_exceeded');
  if (err instanceof InvalidArgumentError) return new ApiError(400, err.message, 'invalid_request_error', null, 'invalid_value');
  // Chat templates reject some conversations themselves (e.g. `raise_exception('Conversation roles must alternate')`).
  if (err instanceof TokenizerError) return new ApiError(400, err.message, 'invalid_request_error', param, null);
  return new ApiError(500, 'Internal server error', 'server_error', null, null);
}

/**
 * For catch blocks around library calls: errors the request caused become ApiErrors naming
 * `param`; anything unexpected is returned as it is, so its stack reaches the log.
 */
export function requestErrorOr(err: unknown, param: string): unknown {
  const apiError = toApiError(err, param);
  return apiError.status === 500 ? err : apiError;
}
