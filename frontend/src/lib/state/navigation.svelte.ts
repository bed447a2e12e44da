// Which section of the window is showing.

export type Section = 'chats' | 'models' | 'store' | 'settings';

export interface SectionInfo {
  id: Section;
  label: string;
}

/** The sidebar's entries, in order. */
export const sections: readonly SectionInfo[] = [
  { id: 'chats', label: 'Chats' },
  { id: 'models', label: 'Models' },
  { id: 'store', label: 'Store' },
  { id: 'settings', label: 'Settings' },
];

export function isSection(value: string): value is Section {
  return sections.some((s) => s.id === value);
}

export class Navigation {
  current = $state<Section>('chats');

  /** Shows section; unknown names (for example from an old link) are ignored. */
  go(section: string): void {
    if (isSection(section)) this.current = section;
  }
}

export const navigation = new Navigation();
