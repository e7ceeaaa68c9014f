import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The default order, except that the whole-run leftover check runs last: it
 * asserts what every earlier integration test left behind.
 */
export class LastFileSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isLast = (spec: TestSpecification) => spec.moduleId.endsWith('no-leftovers.integration.test.ts');
    return [...sorted.filter((spec) => !isLast(spec)), ...sorted.filter(isLast)];
  }
}
