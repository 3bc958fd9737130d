import { describe, expect, it } from 'vitest';
import { renderPage } from './page.js';

describe('dashboard page', () => {
  // Regression: the Reset button's inline handler called `command(...)`, which Chromium resolves
  // to the button's own `command` property (a string) before the page's function, so clicking did
  // nothing. Inline handlers must call names that no element property shadows.
  it('wires buttons to functions no HTMLButtonElement property shadows', () => {
    const html = renderPage([], 'http://127.0.0.1:8080');
    const handlers = [...html.matchAll(/onclick="([A-Za-z_$][\w$]*)\(/g)].map((m) => m[1]!);
    const shadowing = new Set(['command', 'commandFor', 'click', 'form', 'name', 'type', 'value', 'popoverTargetAction', 'focus', 'blur', 'remove', 'title', 'id']);
    expect(handlers.length).toBeGreaterThan(0);
    for (const name of handlers) {
      expect(shadowing.has(name), name).toBe(false);
      expect(html).toContain(`function ${name}(`);
    }
  });
});
