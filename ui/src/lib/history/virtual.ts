// The virtual window of the History table: which rows to render for a
// scroll position, and which keyset pages hold them. Every row has the same
// height, so both are arithmetic.

/** A row's height in pixels (the CSS gives rows exactly this). */
export const ROW_HEIGHT = 34;
/** Records per keyset page fetched from the engine. */
export const PAGE_SIZE = 200;
/** Rows rendered beyond each edge of the viewport, so scrolling shows no gap. */
export const OVERSCAN = 12;

export interface RowRange {
  /** The first row to render. */
  start: number;
  /** One past the last row to render. */
  end: number;
}

/**
 * The rows to render for a viewport of `height` pixels scrolled to
 * `scrollTop`, out of `total` rows: the visible ones plus `overscan` on each
 * side, clamped to the table.
 */
export function visibleRows(
  scrollTop: number,
  height: number,
  total: number,
  overscan = OVERSCAN,
  rowHeight = ROW_HEIGHT,
): RowRange {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const last = Math.ceil((Math.max(0, scrollTop) + Math.max(0, height)) / rowHeight);
  return {
    start: Math.max(0, Math.min(total, first - overscan)),
    end: Math.max(0, Math.min(total, last + overscan)),
  };
}

/** The pages (by index) that hold rows `start` to `end` (exclusive). */
export function pagesOf({ start, end }: RowRange, pageSize = PAGE_SIZE): number[] {
  if (end <= start) return [];
  const first = Math.floor(start / pageSize);
  const last = Math.floor((end - 1) / pageSize);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
