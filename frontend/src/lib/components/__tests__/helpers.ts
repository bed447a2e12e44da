// Mounting components in jsdom for Vitest.
import { flushSync, mount, tick, unmount, type Component } from 'svelte';

export interface Mounted {
  target: HTMLElement;
  destroy(): void;
}

export function render<P extends Record<string, unknown>>(component: Component<P>, props: P): Mounted {
  const target = document.createElement('div');
  document.body.appendChild(target);
  const app = mount(component, { target, props });
  flushSync();
  return {
    target,
    destroy() {
      unmount(app);
      target.remove();
    },
  };
}

/** Lets promises, effects and timers of 0 ms settle. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise((r) => setTimeout(r, 0));
    await tick();
    flushSync();
  }
}

/** Waits until check() passes (a few hundred ms at most). */
export async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await settle(1);
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('timed out waiting for ' + what);
}

export function byText(root: ParentNode, selector: string, text: string): HTMLElement {
  const el = Array.from(root.querySelectorAll<HTMLElement>(selector)).find((e) => e.textContent?.trim() === text);
  if (!el) throw new Error(`no ${selector} with text ${JSON.stringify(text)}`);
  return el;
}

export function typeInto(el: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

export function press(el: Element, key: string, opts: KeyboardEventInit = {}): void {
  el.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...opts }));
  flushSync();
}
