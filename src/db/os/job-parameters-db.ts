import { BaseOSDB } from "./base.ts";
import {
  JOB_PARAMETERS_DB_NAME,
  JOB_PARAMETERS_FIELDS,
  JOB_PARAMETERS_INDEX_PREFIX,
  jobParametersIndexName,
  stampJobParameters,
  type JobParameters,
  type JobParametersStore,
  type JobParametersUpsert,
} from "./job-parameters.ts";

// One bulk request stays a few hundred kB even with large documents.
const DOCS_PER_BULK_REQUEST = 1000;

/** Job parameters in OpenSearch (`DIRACX_OS_DB_JOBPARAMETERSDB`). */
export class JobParametersDB extends BaseOSDB implements JobParametersStore {
  static override readonly dbName: string = JOB_PARAMETERS_DB_NAME;
  static override readonly fields = JOB_PARAMETERS_FIELDS;
  static override readonly indexPrefix: string = JOB_PARAMETERS_INDEX_PREFIX;

  indexName(vo: string, jobId: number): string {
    return jobParametersIndexName(vo, jobId);
  }

  override async upsert(vo: string, jobId: number, params: JobParameters): Promise<void> {
    // Stored as an ISO string, not epoch ms: both are valid for a `date` field, but the
    // string reads back unambiguously (the upstream search tripped over the integer).
    await super.upsert(vo, jobId, stampJobParameters(jobId, params));
  }

  async bulkUpsert(docs: readonly JobParametersUpsert[]): Promise<void> {
    const now = new Date();
    for (let i = 0; i < docs.length; i += DOCS_PER_BULK_REQUEST) {
      const chunk = docs.slice(i, i + DOCS_PER_BULK_REQUEST);
      await this.bulkPartialUpdate(chunk.map((d) => ({ vo: d.vo, id: d.jobId, doc: stampJobParameters(d.jobId, d.params, now) })));
    }
  }
}
