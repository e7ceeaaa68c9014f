import { describe, expect, it } from 'vitest';
import { distributionByName } from '../distros/registry.js';
import { machineRecipe } from './run-spec.js';

describe('machineRecipe', () => {
  it('hands the backends the distribution\'s whole guest image variant, not only its packages', () => {
    const k3s = distributionByName('k3s');
    const recipe = machineRecipe(k3s);
    expect(recipe.variant?.('arm64')).toEqual(k3s.guestImage!('arm64'));
    expect(recipe.packages('arm64')).toEqual(k3s.guestImage!('arm64').packages);
  });

  it('upstream has no variant: the backends build the fast init', () => {
    expect(machineRecipe(distributionByName('upstream')).variant).toBeUndefined();
  });
});
