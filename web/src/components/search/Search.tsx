// The search box: live query (fades non-matching nodes on the map, filters the table), Enter
// pins it (pinned searches AND together and hide what they do not match), Backspace on an empty
// box unpins the last one. Focusing it fetches every topology for per-topology match counts.
import { useLayoutEffect, useRef } from 'preact/hooks';
import { searchResult } from '../../store/derive';
import { useApp, useServices } from '../context';

export const SEARCH_INPUT_ID = 'search-input';

export function Search() {
  const { controller } = useServices();
  const search = useApp((s) => s.view.search);
  const pinned = useApp((s) => s.view.pinned);
  const focused = useApp((s) => s.searchFocused);
  const { matched, total, valid } = useApp((s) => {
    const r = searchResult(s);
    return { matched: r.matchedIds?.size ?? null, total: s.nodes.size, valid: r.liveValid };
  });
  const input = useRef<HTMLInputElement>(null);
  // What the box last reported: a search that differs from it came from elsewhere (back button,
  // Esc) and overwrites the box. A layout effect, because it runs in the same task as the render,
  // before the next keystroke; a deferred effect could restore a value from keystrokes ago.
  const sent = useRef<string | null>(null);

  useLayoutEffect(() => {
    const el = input.current;
    if (el && search !== sent.current) {
      el.value = search;
      sent.current = search;
    }
  }, [search]);
  const send = (value: string): void => {
    sent.current = value;
    controller.setSearch(value);
  };

  return (
    <div class={`search${focused ? ' focused' : ''}${valid ? '' : ' invalid'}`} role="search">
      {pinned.map((p, i) => (
        <span class="pin" key={`${i}:${p}`} data-pinned={p}>
          {p}
          {/* Keep the focus in the box: blurring it would hide the match counts and shift the layout mid-click. */}
          <button type="button" aria-label={`Unpin ${p}`} title="Unpin" onMouseDown={(e) => e.preventDefault()} onClick={() => controller.unpin(i)}>
            ×
          </button>
        </span>
      ))}
      <input
        id={SEARCH_INPUT_ID}
        ref={input}
        type="search"
        autocomplete="off"
        spellcheck={false}
        placeholder={pinned.length ? 'and…' : 'Search: name, pid: 123, cpu > 4%, memory < 10mb'}
        aria-label="Search nodes"
        onInput={(e) => send(e.currentTarget.value)}
        onFocus={() => controller.setSearchFocused(true)}
        onBlur={() => controller.setSearchFocused(false)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            controller.pinSearch();
            sent.current = '';
            e.currentTarget.value = '';
          } else if (e.key === 'Backspace' && e.currentTarget.value === '' && pinned.length > 0) {
            controller.unpin(pinned.length - 1);
          } else if (e.key === 'Escape') {
            if (e.currentTarget.value) {
              send('');
              e.currentTarget.value = '';
            } else e.currentTarget.blur();
            e.stopPropagation();
          }
        }}
      />
      {matched !== null && (
        <span class="search-count" aria-live="polite" data-testid="search-count">
          {matched} of {total}
        </span>
      )}
    </div>
  );
}
