using Prometheus;

namespace Registry.Observability;

/// <summary>
/// The registry's Prometheus series (served at <c>/metrics</c>), named as Prometheus asks: a
/// <c>registry_</c> prefix, base units (seconds, bytes) in the name, <c>_total</c> on counters.
/// Label values are bounded: routes are route kinds or templates, never raw paths. Each application
/// has its own collector registry (tests run several in one process), with the process's own series.
/// </summary>
internal sealed class RegistryMetrics(CollectorRegistry registry, IMetricFactory factory)
{
    private static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    public readonly Counter Requests = factory.CreateCounter(
        "registry_http_requests_total", "HTTP requests answered, by route, method and status code.", ["route", "method", "status"]);

    public readonly Histogram RequestDuration = factory.CreateHistogram(
        "registry_http_request_duration_seconds", "Time to answer an HTTP request, by route and method.",
        new HistogramConfiguration { LabelNames = ["route", "method"], Buckets = LatencyBuckets });

    public readonly Counter BytesPushed = factory.CreateCounter(
        "registry_pushed_bytes_total", "Bytes received in blob uploads and manifest pushes.");

    public readonly Counter BytesPulled = factory.CreateCounter(
        "registry_pulled_bytes_total", "Bytes sent in blob and manifest pulls.");

    public readonly Gauge UploadsInFlight = factory.CreateGauge(
        "registry_uploads_in_flight", "Blob upload requests (POST, PATCH, PUT) being received now.");

    public readonly Histogram BlobStoreDuration = factory.CreateHistogram(
        "registry_blob_store_operation_duration_seconds", "Time the blob store took per operation (for reads and writes: to open or to finish).",
        new HistogramConfiguration { LabelNames = ["backend", "operation"], Buckets = LatencyBuckets });

    public readonly Counter BlobStoreErrors = factory.CreateCounter(
        "registry_blob_store_errors_total", "Blob store operations that failed, by operation.", ["backend", "operation"]);

    public readonly Counter GarbageCollectionRuns = factory.CreateCounter(
        "registry_gc_runs_total", "Garbage collection runs, by result (completed or failed).", ["result"]);

    public readonly Counter GarbageCollectionFreedBytes = factory.CreateCounter(
        "registry_gc_freed_bytes_total", "Bytes of blobs garbage collection removed.");

    public readonly Counter GarbageCollectionRemovedBlobs = factory.CreateCounter(
        "registry_gc_removed_blobs_total", "Blobs garbage collection removed.");

    public readonly Counter AuthDecisions = factory.CreateCounter(
        "registry_auth_decisions_total", "Authorization decisions, by service (ecr, ecs, iam, …) and decision (allow, deny).", ["service", "decision"]);

    public readonly Gauge RepositoryStorage = factory.CreateGauge(
        "registry_repository_storage_bytes", "Bytes of the blobs each repository references (shared blobs count in each).", ["repository"]);

    public readonly Gauge Tasks = factory.CreateGauge(
        "registry_ecs_tasks", "ECS tasks by launch type and last status (stopped tasks are not counted).", ["launch_type", "status"]);

    public readonly Gauge Services = factory.CreateGauge(
        "registry_ecs_services", "ECS services by status.", ["status"]);

    public CollectorRegistry Registry => registry;

    /// <summary>A registry of its own, with the process's series (CPU, memory, GC, threads).</summary>
    public static RegistryMetrics Create()
    {
        var registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        return new RegistryMetrics(registry, Metrics.WithCustomRegistry(registry));
    }

    /// <summary>Records an authorization decision of <paramref name="action"/> (<c>ecr:PutImage</c>).</summary>
    public void Decided(string action, bool allowed)
    {
        var colon = action.IndexOf(':', StringComparison.Ordinal);
        AuthDecisions.WithLabels(colon > 0 ? action[..colon] : "other", allowed ? "allow" : "deny").Inc();
    }
}
