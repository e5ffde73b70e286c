// The part of the `potrace` package (a pure-JS port of Potrace, no types of its own) we use.
declare module 'potrace' {
  export interface PotraceOptions {
    turnPolicy?: 'black' | 'white' | 'left' | 'right' | 'minority' | 'majority';
    turdSize?: number;
    alphaMax?: number;
    optCurve?: boolean;
    optTolerance?: number;
    threshold?: number;
    blackOnWhite?: boolean;
  }

  export class Potrace {
    constructor(options?: PotraceOptions);
    /** Reads a PNG, JPEG or BMP buffer through Jimp; the callback runs with the instance as `this`. */
    loadImage(target: Buffer, callback: (err: Error | null) => void): void;
    /** One `<path d="…">` holding every traced contour, each starting with an M. */
    getPathTag(fillColor?: string): string;
  }

  const potrace: { Potrace: typeof Potrace };
  export default potrace;
}
