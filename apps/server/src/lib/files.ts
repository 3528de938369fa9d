import { access } from 'node:fs/promises'

/** Whether a file is there (and readable); never throws. */
export const fileExists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  )
