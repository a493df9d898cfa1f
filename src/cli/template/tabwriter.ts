// Go's text/tabwriter (elastic tabstops) as Docker's formatter uses it: the fork in
// docker/cli/cli/command/formatter/tabwriter, which measures cells in terminal columns
// (East Asian wide characters count two) rather than in runes.

export const FilterHTML = 1;
export const StripEscape = 2;
export const AlignRight = 4;
export const DiscardEmptyColumns = 8;
export const TabIndent = 16;
export const Debug = 32;

const ESCAPE = '\xff';

interface Cell {
  size: number; // length of the cell's text in the buffer
  width: number; // display width
  htab: boolean; // terminated by '\t'
}

/** Display width of a string in terminal columns (go-runewidth's rules, without ambiguous-width handling). */
export function stringWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += runeWidth(ch.codePointAt(0)!);
  return w;
}

function runeWidth(c: number): number {
  if (c >= 0x20 && c < 0x7f) return 1;
  if (c < 0x20 || (c >= 0x7f && c < 0xa0)) return 0;
  if (/^[\p{Mn}\p{Me}\p{Cf}]$/u.test(String.fromCodePoint(c)) || (c >= 0x1160 && c <= 0x11ff)) return 0;
  if (isWide(c)) return 2;
  return 1;
}

// East Asian Wide and Fullwidth ranges (Unicode's EastAsianWidth.txt, condensed) and emoji.
const wide: [number, number][] = [
  [0x1100, 0x115f], [0x231a, 0x231b], [0x2329, 0x232a], [0x23e9, 0x23ec], [0x23f0, 0x23f0], [0x23f3, 0x23f3],
  [0x25fd, 0x25fe], [0x2614, 0x2615], [0x2648, 0x2653], [0x267f, 0x267f], [0x2693, 0x2693], [0x26a1, 0x26a1],
  [0x26aa, 0x26ab], [0x26bd, 0x26be], [0x26c4, 0x26c5], [0x26ce, 0x26ce], [0x26d4, 0x26d4], [0x26ea, 0x26ea],
  [0x26f2, 0x26f3], [0x26f5, 0x26f5], [0x26fa, 0x26fa], [0x26fd, 0x26fd], [0x2705, 0x2705], [0x270a, 0x270b],
  [0x2728, 0x2728], [0x274c, 0x274c], [0x274e, 0x274e], [0x2753, 0x2755], [0x2757, 0x2757], [0x2795, 0x2797],
  [0x27b0, 0x27b0], [0x27bf, 0x27bf], [0x2b1b, 0x2b1c], [0x2b50, 0x2b50], [0x2b55, 0x2b55], [0x2e80, 0x303e],
  [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3],
  [0xf900, 0xfaff], [0xfe10, 0xfe19], [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6], [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff], [0x1b000, 0x1b2ff], [0x1f004, 0x1f004], [0x1f0cf, 0x1f0cf], [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a], [0x1f200, 0x1f2ff], [0x1f300, 0x1f64f], [0x1f680, 0x1f6ff], [0x1f7e0, 0x1f7eb],
  [0x1f90c, 0x1f9ff], [0x1fa70, 0x1faff], [0x20000, 0x3fffd],
];

function isWide(c: number): boolean {
  let lo = 0;
  let hi = wide.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < wide[mid][0]) hi = mid - 1;
    else if (c > wide[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** A tabwriter.Writer collecting into a string: write() text, then flush() for the output. */
export class TabWriter {
  private buf = '';
  private pos = 0;
  private cell: Cell = { size: 0, width: 0, htab: false };
  private endChar = '';
  private lines: Cell[][] = [[]];
  private widths: number[] = [];
  private out = '';

  constructor(
    private readonly minwidth: number,
    private readonly tabwidth: number,
    private readonly padding: number,
    private readonly padchar: string,
    private flags = 0,
  ) {
    if (padchar === '\t') this.flags &= ~AlignRight;
  }

  private reset(): void {
    this.buf = '';
    this.pos = 0;
    this.cell = { size: 0, width: 0, htab: false };
    this.endChar = '';
    this.lines = [[]];
    this.widths = [];
  }

  private writePadding(textw: number, cellw: number, useTabs: boolean): void {
    if (this.padchar === '\t' || useTabs) {
      if (this.tabwidth === 0) return;
      cellw = Math.floor((cellw + this.tabwidth - 1) / this.tabwidth) * this.tabwidth;
      const n = cellw - textw;
      this.out += '\t'.repeat(Math.floor((n + this.tabwidth - 1) / this.tabwidth));
      return;
    }
    this.out += this.padchar.repeat(Math.max(cellw - textw, 0));
  }

  private writeLines(pos0: number, line0: number, line1: number): number {
    let pos = pos0;
    for (let i = line0; i < line1; i++) {
      const line = this.lines[i];
      let useTabs = (this.flags & TabIndent) !== 0;
      line.forEach((c, j) => {
        if (j > 0 && this.flags & Debug) this.out += '|';
        if (c.size === 0) {
          if (j < this.widths.length) this.writePadding(c.width, this.widths[j], useTabs);
        } else {
          useTabs = false;
          if ((this.flags & AlignRight) === 0) {
            this.out += this.buf.slice(pos, pos + c.size);
            pos += c.size;
            if (j < this.widths.length) this.writePadding(c.width, this.widths[j], false);
          } else {
            if (j < this.widths.length) this.writePadding(c.width, this.widths[j], false);
            this.out += this.buf.slice(pos, pos + c.size);
            pos += c.size;
          }
        }
      });
      if (i + 1 === this.lines.length) {
        this.out += this.buf.slice(pos, pos + this.cell.size);
        pos += this.cell.size;
      } else this.out += '\n';
    }
    return pos;
  }

  private format(pos0: number, line0: number, line1: number): number {
    let pos = pos0;
    const column = this.widths.length;
    for (let t = line0; t < line1; t++) {
      let line = this.lines[t];
      if (column >= line.length - 1) continue;
      pos = this.writeLines(pos, line0, t);
      line0 = t;
      let width = this.minwidth;
      let discardable = true;
      for (; t < line1; t++) {
        line = this.lines[t];
        if (column >= line.length - 1) break;
        const c = line[column];
        width = Math.max(width, c.width + this.padding);
        if (c.width > 0 || c.htab) discardable = false;
      }
      if (discardable && this.flags & DiscardEmptyColumns) width = 0;
      this.widths.push(width);
      pos = this.format(pos, line0, t);
      this.widths.pop();
      line0 = t;
    }
    return this.writeLines(pos, line0, line1);
  }

  private append(text: string): void {
    this.buf += text;
    this.cell.size += text.length;
  }

  private updateWidth(): void {
    this.cell.width += stringWidth(this.buf.slice(this.pos));
    this.pos = this.buf.length;
  }

  private startEscape(ch: string): void {
    this.endChar = ch === ESCAPE ? ESCAPE : ch === '<' ? '>' : ch === '&' ? ';' : '';
  }

  private endEscape(): void {
    if (this.endChar === ESCAPE) {
      this.updateWidth();
      if ((this.flags & StripEscape) === 0) this.cell.width -= 2;
    } else if (this.endChar === ';') this.cell.width++;
    this.pos = this.buf.length;
    this.endChar = '';
  }

  private terminateCell(htab: boolean): number {
    this.cell.htab = htab;
    const line = this.lines[this.lines.length - 1];
    line.push(this.cell);
    this.cell = { size: 0, width: 0, htab: false };
    return line.length;
  }

  private flushInternal(): void {
    if (this.cell.size > 0) {
      if (this.endChar !== '') this.endEscape();
      this.terminateCell(false);
    }
    this.format(0, 0, this.lines.length);
    this.reset();
  }

  write(text: string): void {
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (this.endChar === '') {
        if (ch === '\t' || ch === '\v' || ch === '\n' || ch === '\f') {
          this.append(text.slice(n, i));
          this.updateWidth();
          n = i + 1;
          const ncells = this.terminateCell(ch === '\t');
          if (ch === '\n' || ch === '\f') {
            this.lines.push([]);
            if (ch === '\f' || ncells === 1) {
              this.flushInternal();
              if (ch === '\f' && this.flags & Debug) this.out += '---\n';
            }
          }
        } else if (ch === ESCAPE) {
          this.append(text.slice(n, i));
          this.updateWidth();
          n = this.flags & StripEscape ? i + 1 : i;
          this.startEscape(ESCAPE);
        } else if ((ch === '<' || ch === '&') && this.flags & FilterHTML) {
          this.append(text.slice(n, i));
          this.updateWidth();
          n = i;
          this.startEscape(ch);
        }
      } else if (ch === this.endChar) {
        const j = ch === ESCAPE && this.flags & StripEscape ? i : i + 1;
        this.append(text.slice(n, j));
        n = i + 1;
        this.endEscape();
      }
    }
    this.append(text.slice(n));
  }

  /** Flush buffered text and return everything formatted so far. */
  flush(): string {
    this.flushInternal();
    const out = this.out;
    this.out = '';
    return out;
  }
}
