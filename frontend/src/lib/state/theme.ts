// Theme preference handling. "system" leaves the choice to the
// prefers-color-scheme media query in app.css; "light" and "dark" pin it.

import type { Theme } from '../api/types';

export const themes: readonly Theme[] = ['system', 'light', 'dark'];

export function isTheme(value: string): value is Theme {
  return (themes as readonly string[]).includes(value);
}

/** The data-theme attribute for <html>: null lets the system decide. */
export function themeAttribute(preference: string): 'light' | 'dark' | null {
  return preference === 'light' || preference === 'dark' ? preference : null;
}

/** Applies a preference to a document root element. */
export function applyTheme(root: HTMLElement, preference: string): void {
  const attr = themeAttribute(preference);
  if (attr) root.dataset.theme = attr;
  else delete root.dataset.theme;
}
