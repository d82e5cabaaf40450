/**
 * Re-renders the instance page in place. Replacing it whole on every pushed change would swap the
 * action buttons under a user's pointer (a press and release on two different buttons is no
 * click) and drop the keyboard focus; so the parts of the page are replaced one by one only when
 * they changed, and the buttons are kept, with only their disabled state updated.
 */
export function patchInstance(el: HTMLElement, html: string, busy: boolean): void {
  const next = document.createElement('template');
  next.innerHTML = html;
  const fresh = [...next.content.children];
  const name = next.content.querySelector('#instance-h')?.textContent;
  const same = el.querySelector('#instance-h')?.textContent === name && el.children.length === fresh.length;
  if (!same) {
    el.replaceChildren(...fresh);
    if (busy) for (const b of el.querySelectorAll('button')) b.disabled = true;
    return;
  }
  fresh.forEach((node, i) => {
    const old = el.children[i] as HTMLElement;
    if (node.matches('.actions') && old.matches('.actions')) {
      for (const b of node.querySelectorAll<HTMLButtonElement>('button[data-action]')) {
        const mine = old.querySelector<HTMLButtonElement>(`button[data-action="${b.dataset.action}"]`);
        if (mine) mine.disabled = busy || b.disabled;
      }
    } else if (old.outerHTML !== node.outerHTML) {
      old.replaceWith(node);
    }
  });
}
