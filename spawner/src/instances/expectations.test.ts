import { describe, expect, it } from 'vitest';
import { Expectations } from './expectations.js';

describe('Expectations: the events our own calls cause', () => {
  it('excuse the kind the call causes, once', () => {
    const e = new Expectations();
    e.add('c1', 'stop');
    expect(e.consume('c1', 'start')).toBe(false);
    expect(e.consume('c1', 'die')).toBe(true);
    expect(e.consume('c1', 'die')).toBe(false);
    expect(e.has('c1')).toBe(false);
  });

  it('a removal excuses its die and its destroy', () => {
    const e = new Expectations();
    e.add('c1', 'remove');
    expect([e.consume('c1', 'die'), e.consume('c1', 'destroy'), e.has('c1')]).toEqual([true, true, false]);
  });

  it('a start never seen is dropped by a later die (not excused) and never excuses a destroy', () => {
    const e = new Expectations();
    e.add('c1', 'start');
    expect(e.consume('c1', 'die')).toBe(false);
    expect(e.has('c1')).toBe(false);
    e.add('c2', 'start');
    expect(e.consume('c2', 'destroy')).toBe(false);
    expect(e.has('c2')).toBe(false);
  });

  it('a later call replaces what an earlier one left; a failed call is forgotten', () => {
    const e = new Expectations();
    e.add('c1', 'start');
    e.add('c1', 'stop');
    expect(e.consume('c1', 'start')).toBe(false);
    expect(e.consume('c1', 'die')).toBe(true);
    e.add('c2', 'start');
    e.forget('c2');
    expect(e.consume('c2', 'start')).toBe(false);
  });
});
