// Window-wide keyboard shortcuts: Ctrl/Cmd+K searches chats, Ctrl/Cmd+N
// starts a new chat, Esc stops the reply being written.

export type Shortcut = 'search' | 'new-chat' | 'stop' | null;

export function shortcut(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>): Shortcut {
  const mod = e.ctrlKey || e.metaKey;
  if (mod && !e.altKey && !e.shiftKey) {
    const k = e.key.toLowerCase();
    if (k === 'k') return 'search';
    if (k === 'n') return 'new-chat';
  }
  if (e.key === 'Escape' && !mod) return 'stop';
  return null;
}
