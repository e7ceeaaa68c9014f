/** Distributions the CLI accepts (placeholder: the lead owns this file). */
export const distroNames = ['upstream'] as const;
