// The HTTP contract's types, generated from the app's own /openapi.json: do not edit, run `npm run gen:client`.
// biome-ignore-all lint: generated code
export interface paths {
  "/v1/jobs": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** List jobs, newest first */
    get: {
      parameters: {
        query?: {
          status?: components["schemas"]["JobStatus"];
          type?: string;
          /** @description only the jobs of this batch */
          batchId?: string;
          limit?: number;
          cursor?: string;
        };
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description A page of jobs */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["JobPage"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    /** Enqueue a job */
    post: {
      parameters: {
        query?: never;
        header?: {
          /** @description same as body idempotencyKey */
          "idempotency-key"?: string;
        };
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          "application/json": components["schemas"]["EnqueueRequest"];
        };
      };
      responses: {
        /** @description Idempotent replay (header Idempotent-Replayed: true): the original job; or a debounced enqueue (header Debounced: true): the window's job as stored after this enqueue (its payload, or a later one's) */
        200: {
          headers: {
            "Idempotent-Replayed"?: "true";
            Debounced?: "true";
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Job"];
          };
        };
        /** @description Accepted: the job is committed and queued (or scheduled) */
        202: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Job"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description conflict or idempotency_conflict */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description payload_too_large */
        413: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unknown_job_type */
        422: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/jobs/batch": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Enqueue 1…100 jobs, all or nothing */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          "application/json": components["schemas"]["BatchEnqueueRequest"];
        };
      };
      responses: {
        /** @description Accepted */
        202: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": {
              jobs: components["schemas"]["Job"][];
            };
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description conflict or idempotency_conflict */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description payload_too_large */
        413: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unknown_job_type */
        422: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/jobs/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Get a job with its attempt log and its workflow steps */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The job */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["JobDetail"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    post?: never;
    /** Delete a finished job */
    delete: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Deleted */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description conflict or idempotency_conflict */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/jobs/{id}/cancel": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Cancel a scheduled, queued, retrying or waiting job (and a workflow's unfinished children) */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Cancelled */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Job"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description conflict or idempotency_conflict */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/jobs/{id}/retry": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Send a dead or cancelled job back to the queue, attempts reset */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Queued again */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Job"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description conflict or idempotency_conflict */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/dead": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** List dead jobs, newest first */
    get: {
      parameters: {
        query?: {
          type?: string;
          /** @description only the jobs of this batch */
          batchId?: string;
          limit?: number;
          cursor?: string;
        };
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description A page of dead jobs */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["JobPage"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/dead/retry": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Replay dead jobs (by ids, at most 100; or by type, or all, at most 1000 per call) */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          "application/json": components["schemas"]["DeadRetryRequest"];
        };
      };
      responses: {
        /** @description How many were requeued */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": {
              retried: number;
            };
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/flows/{key}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** A flow key's settings (from the latest job naming it) and live counts */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          key: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The flow */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["FlowStatus"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/keys": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** List API keys (admin) */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description All keys */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": {
              data: components["schemas"]["ApiKey"][];
            };
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    /** Create an API key for a tenant (admin) */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          "application/json": components["schemas"]["CreateKeyRequest"];
        };
      };
      responses: {
        /** @description The key, shown this once */
        201: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["CreatedApiKey"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/keys/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /** Revoke an API key (admin) */
    delete: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Revoked */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/metrics": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Queue health for the tenant: depth, ages, states, and rates over the last 15 minutes */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The tenant's metrics */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Metrics"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/metrics": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The same metrics in Prometheus text exposition format */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Prometheus text format 0.0.4 */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "text/plain": string;
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/schedules": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** List schedules, newest first */
    get: {
      parameters: {
        query?: {
          limit?: number;
          cursor?: string;
        };
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description A page of schedules */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["SchedulePage"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    /** Create a recurring schedule */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          "application/json": components["schemas"]["CreateScheduleRequest"];
        };
      };
      responses: {
        /** @description Created */
        201: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Schedule"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description conflict or idempotency_conflict */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description payload_too_large */
        413: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unknown_job_type */
        422: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/schedules/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Get a schedule */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The schedule */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Schedule"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    post?: never;
    /** Delete a schedule (jobs it already made stay) */
    delete: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Deleted */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    options?: never;
    head?: never;
    /** Change a schedule; enabled: false pauses it, enabled: true resumes it from the next fire time */
    patch: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody: {
        content: {
          "application/json": components["schemas"]["UpdateScheduleRequest"];
        };
      };
      responses: {
        /** @description The changed schedule */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Schedule"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description conflict or idempotency_conflict */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description payload_too_large */
        413: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unknown_job_type */
        422: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    trace?: never;
  };
  "/v1/schedules/{id}/run": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Enqueue the schedule's job now, outside its cron (works while paused) */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The job, committed and queued */
        202: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Job"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description payload_too_large */
        413: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unknown_job_type */
        422: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/webhook-secret": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The tenant's webhook signing secrets: callbacks and http jobs (created on first use) */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The secret */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["WebhookSecret"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/webhook-secret/rotate": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Replace both signing secrets; the old ones keep signing beside them for 24 h */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The new secrets and the previous ones */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["WebhookSecret"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/events": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Send an event: completes every matching waitForEvent wait of the tenant, now or within 60 s after */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          "application/json": components["schemas"]["SendEventRequest"];
        };
      };
      responses: {
        /** @description Accepted: the event is stored and the waits it matched are completed */
        202: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["SentEvent"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description payload_too_large */
        413: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unsupported_media_type: a JSON body sent without Content-Type: application/json */
        415: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/job-types": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Every registered job type, its payload's JSON Schema and whether it is paused for you */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The job types, by name */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["JobTypeList"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/job-types/{type}/pause": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Pause a job type for your tenant: enqueues are still accepted, its jobs wait queued until resumed */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          type: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Paused (also when it already was) */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["JobType"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/job-types/{type}/resume": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Resume a paused job type: the jobs it held are sent to the queue again */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          type: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Resumed (also when it was not paused) */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["JobType"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/batches": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** List batches, newest first (its jobs: GET /v1/jobs?batchId=) */
    get: {
      parameters: {
        query?: {
          /** @description running; succeeded (every job succeeded); completed (all finished, some did not succeed) */
          status?: components["schemas"]["BatchStatus"];
          limit?: number;
          cursor?: string;
        };
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description A page of batches */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["BatchPage"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    /** Create a batch of 1…100 jobs (all or nothing), with what to do when they have all finished */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          "application/json": components["schemas"]["CreateBatchRequest"];
        };
      };
      responses: {
        /** @description Accepted: the batch and its jobs are committed and queued */
        202: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["BatchWithJobs"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description payload_too_large */
        413: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unsupported_media_type: a JSON body sent without Content-Type: application/json */
        415: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unknown_job_type */
        422: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/batches/{id}/jobs": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Add 1…100 jobs to an open batch */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody: {
        content: {
          "application/json": components["schemas"]["AddBatchJobsRequest"];
        };
      };
      responses: {
        /** @description Accepted: the batch with the jobs this request added */
        202: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["BatchWithJobs"];
          };
        };
        /** @description invalid_request: the body, query or path failed validation */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description conflict or idempotency_conflict */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description payload_too_large */
        413: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unsupported_media_type: a JSON body sent without Content-Type: application/json */
        415: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description unknown_job_type */
        422: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/batches/{id}/close": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Close a batch: no more jobs; it finishes when its last job does */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The batch */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Batch"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/batches/{id}/cancel": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Close a batch and cancel every job of it that has not started */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The batch */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Batch"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/batches/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Get a batch with its counts */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          id: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description The batch */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Batch"];
          };
        };
        /** @description unauthorized: missing or unknown API key */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description forbidden: the key may not use this route */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
        /** @description not_found */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            "application/json": components["schemas"]["Error"];
          };
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    BatchCallbackEvent: {
      /** @enum {string} */
      type: "batch.succeeded" | "batch.completed";
      timestamp: string;
      data: components["schemas"]["Batch"];
    };
    Batch: {
      id: string;
      status: components["schemas"]["BatchStatus"];
      description: string | null;
      total: number;
      /** @description jobs not finished yet */
      pending: number;
      succeeded: number;
      dead: number;
      cancelled: number;
      open: boolean;
      createdAt: string;
      finishedAt: string | null;
      callbackUrl: string | null;
      onSuccess: components["schemas"]["BatchFinisher"];
      onComplete: components["schemas"]["BatchFinisher"];
      callback: components["schemas"]["BatchCallbackState"];
    };
    /**
     * @description running; succeeded (every job succeeded); completed (all finished, some did not succeed)
     * @enum {string}
     */
    BatchStatus: "running" | "succeeded" | "completed";
    BatchFinisher: {
      type: string;
      /** @description an object; the finished batch's counts are added under `batch` */
      payload?: {
        [key: string]: unknown;
      };
    } | null;
    /** @description the batch callback's delivery state */
    BatchCallbackState: {
      /** @enum {string} */
      status: "pending" | "delivered" | "failed";
      /** @enum {string} */
      event: "batch.succeeded" | "batch.completed";
      webhookId: string;
      attempts: number;
      lastStatus: number | null;
      lastError: string | null;
      lastAttemptAt: string | null;
      nextAttemptAt: string | null;
      deliveredAt: string | null;
    } | null;
    Job: {
      id: string;
      type: string;
      status: components["schemas"]["JobStatus"];
      payload?: unknown;
      result?: unknown;
      error: {
        message: string;
        name: string;
        attempt: number;
        at: string;
      } | null;
      attempts: number;
      maxAttempts: number;
      progress: number | null;
      runAt: string;
      createdAt: string;
      updatedAt: string;
      startedAt: string | null;
      finishedAt: string | null;
      idempotencyKey: string | null;
      flow: components["schemas"]["Flow"];
      callbackUrl: string | null;
      metadata: {
        [key: string]: string;
      };
      callback: components["schemas"]["CallbackState"];
      /** @description the lane the job runs in */
      queue: string;
      /** @description the batch (POST /v1/batches) the job belongs to */
      batchId: string | null;
      /** @description the workflow job that started this one (ctx.step.invoke) */
      parentId: string | null;
      waitingFor: components["schemas"]["WaitingFor"];
    };
    /** @enum {string} */
    JobStatus: "scheduled" | "queued" | "running" | "retrying" | "waiting" | "succeeded" | "dead" | "cancelled";
    Flow: {
      key: string;
      rate?: {
        limit: number;
        periodSeconds: number;
      };
      concurrency?: number;
    } | null;
    CallbackState: {
      /** @enum {string} */
      status: "pending" | "delivered" | "failed";
      /** @enum {string} */
      event: "job.succeeded" | "job.dead";
      webhookId: string;
      attempts: number;
      lastStatus: number | null;
      lastError: string | null;
      lastAttemptAt: string | null;
      nextAttemptAt: string | null;
      deliveredAt: string | null;
    } | null;
    /** @description what a `waiting` job is parked on; else null */
    WaitingFor:
      | {
          /** @enum {string} */
          kind: "sleep";
          until: string;
        }
      | {
          /** @enum {string} */
          kind: "event";
          event: string;
          key?: string;
          until: string;
        }
      | {
          /** @enum {string} */
          kind: "invoke";
          jobIds: string[];
        }
      | null;
    Error: {
      error: {
        /** @enum {string} */
        code:
          | "invalid_request"
          | "unauthorized"
          | "forbidden"
          | "not_found"
          | "conflict"
          | "idempotency_conflict"
          | "payload_too_large"
          | "unsupported_media_type"
          | "unknown_job_type"
          | "rate_limited"
          | "internal";
        message: string;
        issues?: {
          path: string;
          message: string;
        }[];
      };
    };
    EnqueueRequest: {
      type: string;
      /** @description validated by the job type's schema; default {} */
      payload?: unknown;
      delaySeconds?: number;
      /** Format: date-time */
      runAt?: string;
      idempotencyKey?: string;
      idempotencyTtlSeconds?: number;
      maxAttempts?: number;
      backoff?: components["schemas"]["Backoff"];
      timeoutSeconds?: number;
      flow?: components["schemas"]["Flow"];
      /** Format: uri */
      callbackUrl?: string;
      /** @description correlation fields shown in every log line of the job; these names are reserved: level, msg, time, jobId, type, tenant, attempt, attempts, status, requestId, durationMs, error, reason, queue, keyId, webhookId, event */
      metadata?: {
        [key: string]: string;
      };
      /** @description the lane to run in (one the deployment declares, e.g. `default`, `critical`); default: the job type's lane */
      queue?: string;
      debounce?: components["schemas"]["Debounce"];
    };
    Backoff: {
      /** @enum {string} */
      type: "exponential" | "fixed";
      delaySeconds: number;
      maxDelaySeconds?: number;
      jitter?: boolean;
    };
    /** @description while a job with this key has not started, an enqueue replaces it (200, header Debounced: true) and moves its start to `seconds` from now */
    Debounce: {
      key: string;
      seconds: number;
      /** @description the start never moves past this long after the window's first enqueue; at least `seconds` */
      maxWaitSeconds?: number;
    };
    BatchEnqueueRequest: {
      jobs: components["schemas"]["EnqueueRequest"][];
    };
    JobPage: {
      data: components["schemas"]["Job"][];
      nextCursor: string | null;
    };
    JobDetail: components["schemas"]["Job"] & {
      attemptLog: {
        attempt: number;
        startedAt: string;
        finishedAt: string;
        durationMs: number;
        /** @enum {string} */
        outcome: "failed" | "deferred" | "timed_out";
        error: {
          message: string;
          name: string;
        } | null;
      }[];
      /** @description the workflow's steps, oldest first ([] for a plain job) */
      steps: components["schemas"]["Step"][];
    };
    Step: {
      name: string;
      /** @enum {string} */
      kind: "run" | "sleep" | "event" | "invoke";
      /**
       * @description timed_out: an event wait that got no event in time
       * @enum {string}
       */
      status: "waiting" | "succeeded" | "failed" | "timed_out";
      result?: unknown;
      error: {
        message: string;
        name: string;
        /**
         * @description invoke steps: the child's end
         * @enum {string}
         */
        childStatus?: "dead" | "cancelled";
      } | null;
      startedAt: string;
      finishedAt: string | null;
      /** @description invoke steps: the child job's id */
      childId?: string;
    };
    DeadRetryRequest: {
      type?: string;
      ids?: string[];
    };
    FlowStatus: {
      key: string;
      rate: {
        limit: number;
        periodSeconds: number;
      } | null;
      concurrency: number | null;
      /** @description jobs holding a concurrency slot now */
      running: number;
      /** @description jobs deferred by this key and not started yet */
      waiting: number;
    };
    CreatedApiKey: components["schemas"]["ApiKey"] & {
      key: string;
    };
    ApiKey: {
      id: string;
      tenant: string;
      name: string;
      createdAt: string;
    };
    CreateKeyRequest: {
      tenant: string;
      name: string;
    };
    Metrics: {
      /** @description queued jobs that are due, waiting for a consumer */
      depth: number;
      /** @description how long the oldest due queued job has waited */
      oldestAgeSeconds: number;
      running: number;
      retrying: number;
      /** @description workflow jobs parked on a sleep, an event or child jobs */
      waiting: number;
      dead: number;
      /** @description jobs waiting for their runAt */
      scheduled: number;
      /** @description jobs finished (succeeded or dead) per minute */
      throughputPerMinute: number;
      /** @description share of ended attempts that failed and will be retried */
      retryRate: number;
      /** @description share of finished jobs that went dead */
      failureRate: number;
      durationMs: {
        p50: number | null;
        p95: number | null;
      };
      window: {
        started: number;
        succeeded: number;
        /** @description attempts that failed and will be retried */
        failed: number;
        dead: number;
        deferred: number;
      };
      windowMinutes: number;
      byType: {
        [key: string]: {
          /** @description queued jobs that are due, waiting for a consumer */
          depth: number;
          /** @description how long the oldest due queued job has waited */
          oldestAgeSeconds: number;
          running: number;
          retrying: number;
          /** @description workflow jobs parked on a sleep, an event or child jobs */
          waiting: number;
          dead: number;
          /** @description jobs waiting for their runAt */
          scheduled: number;
          /** @description jobs finished (succeeded or dead) per minute */
          throughputPerMinute: number;
          /** @description share of ended attempts that failed and will be retried */
          retryRate: number;
          /** @description share of finished jobs that went dead */
          failureRate: number;
          durationMs: {
            p50: number | null;
            p95: number | null;
          };
          window: {
            started: number;
            succeeded: number;
            /** @description attempts that failed and will be retried */
            failed: number;
            dead: number;
            deferred: number;
          };
        };
      };
      /** @description the tenant's jobs per lane (every declared lane), with each lane's queue backlog */
      byQueue: {
        [key: string]: {
          /** @description queued jobs that are due, waiting for a consumer */
          depth: number;
          /** @description how long the oldest due queued job has waited */
          oldestAgeSeconds: number;
          running: number;
          retrying: number;
          /** @description workflow jobs parked on a sleep, an event or child jobs */
          waiting: number;
          dead: number;
          /** @description jobs waiting for their runAt */
          scheduled: number;
          /** @description the lane's queue backlog (all tenants), when the runtime reports it */
          queue: {
            backlog: number;
            oldestAgeSeconds: number;
          } | null;
        };
      };
      /** @description the whole queue's backlog (all tenants), when the runtime reports it */
      queue: {
        backlog: number;
        oldestAgeSeconds: number;
      } | null;
      generatedAt: string;
    };
    Schedule: {
      id: string;
      name: string;
      cron: string;
      timezone: string;
      type: string;
      payload?: unknown;
      jobOptions: components["schemas"]["ScheduleJobOptions"];
      enabled: boolean;
      /**
       * @description missed fire times after downtime: only the most recent (latest, default), all, or none
       * @enum {string}
       */
      catchUp: "latest" | "all" | "none";
      /** @description the next fire time; null while paused */
      nextRunAt: string | null;
      /** @description the latest fire time that made a job */
      lastRunAt: string | null;
      createdAt: string;
      updatedAt: string;
    };
    ScheduleJobOptions: {
      maxAttempts?: number;
      backoff?: components["schemas"]["Backoff"];
      timeoutSeconds?: number;
      flow?: components["schemas"]["Flow"];
      /** Format: uri */
      callbackUrl?: string;
      /** @description correlation fields shown in every log line of the job; these names are reserved: level, msg, time, jobId, type, tenant, attempt, attempts, status, requestId, durationMs, error, reason, queue, keyId, webhookId, event */
      metadata?: {
        [key: string]: string;
      };
    };
    CreateScheduleRequest: {
      name: string;
      /**
       * @description 5-field cron: minute hour day-of-month month day-of-week
       * @example 0 9 * * 1-5
       */
      cron: string;
      /**
       * @description IANA time zone; DST handled
       * @default UTC
       * @example Europe/Berlin
       */
      timezone?: string;
      type: string;
      /** @description validated by the job type's schema; default {} */
      payload?: unknown;
      jobOptions?: components["schemas"]["ScheduleJobOptions"];
      /** @default true */
      enabled?: boolean;
      /**
       * @description missed fire times after downtime: only the most recent (latest, default), all, or none
       * @default latest
       * @enum {string}
       */
      catchUp?: "latest" | "all" | "none";
    };
    SchedulePage: {
      data: components["schemas"]["Schedule"][];
      nextCursor: string | null;
    };
    UpdateScheduleRequest: {
      name?: string;
      /**
       * @description 5-field cron: minute hour day-of-month month day-of-week
       * @example 0 9 * * 1-5
       */
      cron?: string;
      /**
       * @description IANA time zone; DST handled
       * @example Europe/Berlin
       */
      timezone?: string;
      type?: string;
      payload?: unknown;
      jobOptions?: components["schemas"]["ScheduleJobOptions"];
      enabled?: boolean;
      /**
       * @description missed fire times after downtime: only the most recent (latest, default), all, or none
       * @enum {string}
       */
      catchUp?: "latest" | "all" | "none";
    };
    WebhookSecret: {
      /**
       * @description verifies completion and batch callbacks; never signs an http job's request
       * @example whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
       */
      secret: string;
      /** @description the callback secret before the last rotation, while it still signs (24 h) */
      previousSecret: string | null;
      rotatedAt: string | null;
      /**
       * @description verifies the requests of `http` jobs; never signs a callback
       * @example whsec_3vN0c2Zq1mB8sVhJtX6yKpRwLdE4aGfU
       */
      httpJobSecret: string;
      /** @description the http job secret before the last rotation, while it still signs (24 h) */
      previousHttpJobSecret: string | null;
    };
    SentEvent: {
      /** @example evt_01JDQ8Z3X9V5K2M4N6P8R0S2T4 */
      id: string;
      /** @description how many open waitForEvent waits this event completed */
      matched: number;
      /** @description true when this call stopped at its cap (2000 waits) with more waits still matching: they stay open; send the event again to complete them */
      more: boolean;
    };
    SendEventRequest: {
      /** @example payment.captured */
      name: string;
      /**
       * @description wakes the waits that named this key and the waits that named no key; without it, only the waits that named no key
       * @example order-1234
       */
      key?: string;
      /**
       * @description any JSON, handed to every wait this event completes (null when left out)
       * @example {
       *       "amount": 4200
       *     }
       */
      data?: unknown;
    };
    JobTypeList: {
      data: components["schemas"]["JobType"][];
    };
    JobType: {
      type: string;
      /** @description the lane the type's jobs run in */
      queue: string;
      /** @description the type's own, else the default (5) */
      maxAttempts: number;
      /** @description per attempt: the type's own, else the default */
      timeoutSeconds: number;
      /** @description for the caller's tenant: its jobs are still accepted and wait, queued, until the type is resumed */
      paused: boolean;
      /** @description JSON Schema of the payload (from the zod schema that validates it); null when it cannot be expressed */
      inputSchema: {
        [key: string]: unknown;
      } | null;
    };
    BatchWithJobs: components["schemas"]["Batch"] & {
      /** @description the jobs this request created */
      jobs: components["schemas"]["Job"][];
    };
    CreateBatchRequest: {
      jobs: components["schemas"]["EnqueueRequest"][];
      description?: string;
      /**
       * Format: uri
       * @description gets a signed batch.succeeded or batch.completed event when the batch finishes
       */
      callbackUrl?: string;
      onSuccess?: components["schemas"]["BatchFinisher"] & unknown;
      onComplete?: components["schemas"]["BatchFinisher"] & unknown;
      /** @description true: more jobs may be added until POST /v1/batches/{id}/close; default false */
      open?: boolean;
    };
    AddBatchJobsRequest: {
      jobs: components["schemas"]["EnqueueRequest"][];
    };
    BatchPage: {
      data: components["schemas"]["Batch"][];
      nextCursor: string | null;
    };
  };
  responses: never;
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
