// Vite's asset imports, as far as the playground uses them.
declare module '*?url' {
  const url: string;
  export default url;
}
interface ImportMeta {
  glob<T>(pattern: string, opts: { eager: true; query?: string; import?: string }): Record<string, T>;
  glob<T>(pattern: string, opts?: { query?: string; import?: string }): Record<string, () => Promise<T>>;
}
