// text/tabwriter's behaviour (elastic tabstops), and the column widths of Docker's fork, which
// counts East Asian wide characters as two columns (checked with `docker context ls`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlignRight, Debug, DiscardEmptyColumns, FilterHTML, StripEscape, TabWriter, stringWidth } from './tabwriter.js';

type Case = [name: string, minwidth: number, tabwidth: number, padding: number, padchar: string, flags: number, src: string, want: string];

const cases: Case[] = [
  ['empty', 8, 0, 1, '.', 0, '', ''],
  ['escapes stripped', 8, 0, 1, '.', StripEscape, '\xff"foo\t\n\tbar"\xff', '"foo\t\n\tbar"'],
  ['escapes kept', 8, 0, 1, '.', 0, 'abc\xff\tdef', 'abc\xff\tdef'],
  ['only newlines', 8, 0, 1, '.', 0, '\n\n\n', '\n\n\n'],
  ['no tabs', 8, 0, 1, '.', 0, 'a\nb\nc', 'a\nb\nc'],
  ['trailing empty cell', 8, 0, 1, '.', 0, '\t', ''],
  ['one column', 8, 0, 1, '.', 0, '*\t*\n', '*.......*\n'],
  ['terminated cell', 8, 0, 1, '.', 0, 'e) foo\tbar\t\n', 'e) foo..bar.....\n'],
  ['debug bars', 8, 0, 1, '.', Debug, '*\t*\t', '*.......|*'],
  ['align right', 8, 0, 1, '.', AlignRight, '*\t*\t', '.......**'],
  ['html filtered', 8, 0, 1, '.', FilterHTML, 'f) f&lt;o\t<b>bar</b>\t\n', 'f) f&lt;o..<b>bar</b>.....\n'],
  ['formfeed flushes', 1, 0, 0, '.', 0, '1\t2\t3\t4\f11\t222\t3333\t44444\n', '1234\n11222333344444\n'],
  ['columns', 1, 0, 0, '.', 0, '1\t2\t3\t4\n11\t222\t3333\t44444\n', '1.2..3...4\n11222333344444\n'],
  ['ragged block', 4, 0, 3, '.', 0,
    '4444\t333\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n666666\t666666\t666666\t4444\n1\t1\t999999999\t0000000000\n',
    '4444........333...22...1...333\n999999999...22\n7...........22\n....................88888888\n\n666666...666666...666666......4444\n1........1........999999999...0000000000\n'],
  ['soft tabs discarded', 4, 0, 0, '.', DiscardEmptyColumns, 'a\v\vb', 'a...b'],
  ['hard tabs kept', 4, 0, 0, '.', DiscardEmptyColumns, 'a\t\tb', 'a.......b'],
  ['tab padding', 100, 100, 0, '\t', DiscardEmptyColumns, 'a\vb\v\vd\na\vb\v\vd\ve\na\n', 'a\tb\td\na\tb\td\te\na\n'],
  // Docker's fork: wide characters take two columns.
  ['wide characters', 8, 0, 1, '.', 0, '本\tb\tc\naa\t本本本\tcccc\tddddd\naaa\tbbbb\n',
    '本......b.......c\naa......本本本..cccc....ddddd\naaa.....bbbb\n'],
];

test('tabwriter aligns cells as text/tabwriter does, whole or written piecemeal', () => {
  for (const [name, minwidth, tabwidth, padding, padchar, flags, src, want] of cases) {
    const whole = new TabWriter(minwidth, tabwidth, padding, padchar, flags);
    whole.write(src);
    assert.equal(whole.flush(), want, name);
    const bytewise = new TabWriter(minwidth, tabwidth, padding, padchar, flags);
    for (const ch of src) bytewise.write(ch);
    assert.equal(bytewise.flush(), want, `${name} (piecemeal)`);
  }
});

test('display width: wide characters count two, combining marks none', () => {
  assert.equal(stringWidth('abc'), 3);
  assert.equal(stringWidth('日本語'), 6);
  assert.equal(stringWidth('e\u0301'), 1);
  assert.equal(stringWidth('😀x'), 3);
});

test("Docker's table settings: minwidth 10, padding 3", () => {
  const tw = new TabWriter(10, 1, 3, ' ', 0);
  tw.write('NAME\tIMAGE\n');
  tw.write('a-very-long-name\tbusybox\n');
  assert.equal(tw.flush(), 'NAME               IMAGE\na-very-long-name   busybox\n');
});
