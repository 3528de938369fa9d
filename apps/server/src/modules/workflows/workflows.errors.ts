import { errors } from '../../lib/errors.js'

export const workflowErrors = {
  nameTaken: (name: string) => errors.conflict(`a workflow named '${name}' already exists in this project`),
  /** An edit based on a revision that is no longer the current one: someone else changed the workflow since. */
  staleRevision: (id: string, given: number, current: number) =>
    errors.conflict(
      `workflow ${id} is at revision ${current}, not ${given}: someone else changed it; read it again and reapply your change`,
      { current_revision: current },
    ),
}
