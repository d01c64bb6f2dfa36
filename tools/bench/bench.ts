/** A benchmark: a name and a function that measures and returns named figures. */
export interface Bench {
  readonly name: string;
  run(): Promise<Record<string, number | string>>;
}
