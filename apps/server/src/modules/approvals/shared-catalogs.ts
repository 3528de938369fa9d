import type { TenantContext } from '../../auth/principal.js'
import { INTERNAL_CATALOG } from '../../engine/local-tables.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { CatalogContributor, ContributedCatalog, ContributedCatalogEntry } from '../catalogs/catalogs.service.js'
import type { InternalCatalogService, SharedDataset } from '../datasets/internal-catalog.service.js'
import { type ApprovalRow, ApprovalsRepo } from './approvals.repo.js'

/** How an approved dataset of another organization is listed among a project's catalogs. */
export const SHARED_CATALOG_TYPE = 'shared'

/** The dataset of an approved request while it lives in the organization that approved it. */
export async function sharedDatasetOf(
  datasets: InternalCatalogService,
  row: ApprovalRow,
): Promise<SharedDataset | undefined> {
  const shared = await datasets.sharedDataset(row.dataset_id!)
  return shared?.organizationId === row.target_organization_id ? shared : undefined
}

/**
 * Approved datasets of other organizations as read-only catalogs of the requesting project: catalog
 * `<the request's catalog>`, one schema named as the dataset, its tables read from their files. Only
 * approved requests in time count; once revoked or expired (or the dataset is gone) the catalog is no
 * longer there at all.
 */
export class SharedCatalogs implements CatalogContributor {
  constructor(
    private readonly db: MetadataDb,
    private readonly datasets: InternalCatalogService,
    private readonly now: () => Date,
  ) {}

  async list(checked: TenantContext, projectId: string): Promise<ContributedCatalogEntry[]> {
    const rows = await new ApprovalsRepo(this.db).approvedDatasets(
      checked.principal.organizationId,
      projectId,
      this.now(),
    )
    const live = await Promise.all(rows.map(async (row) => ((await sharedDatasetOf(this.datasets, row)) ? row : null)))
    return live.flatMap((row) => (row ? [{ name: row.catalog!, type: SHARED_CATALOG_TYPE }] : []))
  }

  async resolve(checked: TenantContext, projectId: string, names: readonly string[]): Promise<ContributedCatalog[]> {
    const wanted = new Set(names.map((name) => name.toLowerCase()))
    if (wanted.size === 0) return []
    const rows = (
      await new ApprovalsRepo(this.db).approvedDatasets(checked.principal.organizationId, projectId, this.now())
    ).filter((row) => wanted.has(row.catalog!))
    const resolved = await Promise.all(
      rows.map(async (row): Promise<ContributedCatalog[]> => {
        const shared = await sharedDatasetOf(this.datasets, row)
        if (!shared) return []
        return [
          {
            name: row.catalog!,
            type: SHARED_CATALOG_TYPE,
            catalog: { schemas: [shared.schema] },
            views: () => undefined,
            localTables: (schema, table) => (schema === shared.schema.name ? shared.localTables(table) : undefined),
            // The owner's masks and row filters on the dataset still apply across organizations.
            policyOwner: {
              organizationId: shared.organizationId,
              projectId: shared.projectId,
              catalog: INTERNAL_CATALOG,
            },
          },
        ]
      }),
    )
    return resolved.flat()
  }
}
