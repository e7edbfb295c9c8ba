/** Thrown for invalid shapes, lengths or arguments passed to a tensor op. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}
