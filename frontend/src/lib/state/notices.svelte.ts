// Short messages shown at the top of the window (for example after files
// were dropped), each dismissible.

export interface Notice {
  id: number;
  text: string;
}

export class Notices {
  items = $state<Notice[]>([]);
  private next = 1;

  push(text: string): number {
    const id = this.next++;
    this.items.push({ id, text });
    return id;
  }

  dismiss(id: number): void {
    this.items = this.items.filter((n) => n.id !== id);
  }
}

/** The message shown when files are dropped on the window. */
export function droppedFilesText(paths: string[]): string {
  const n = paths.length;
  const what = n === 1 ? `“${basename(paths[0])}”` : `${n} files`;
  return `Importing ${what}; progress is under Models.`;
}

function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}
