using System.Data.Common;
using Registry.Core.Errors;
using Registry.Storage;

namespace Registry.Distribution;

/// <summary>
/// The database or the blob store being down, wherever a request meets it (authentication included):
/// 503 with the OCI error JSON and <c>Retry-After</c>. Nothing was acknowledged, so the client may
/// retry, and an upload resumes from its last acknowledged offset once the backend is back.
/// </summary>
internal static partial class BackendFault
{
    public static IApplicationBuilder UseBackendFaults(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (Describe(e) is { } backend)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Registry.Backends");
            Log.Unavailable(logger, context.Request.Method, context.Request.Path, backend, e.Message);
            await OciResponses.FailAsync(context, new OciError(OciErrorCode.Unavailable, $"the {backend} is unavailable; retry later", e.Message), retryAfterSeconds: "1");
        }
    });

    /// <summary>"metadata database" or "blob store" when <paramref name="e"/> is such a failure; null otherwise.</summary>
    public static string? Describe(Exception e) => e switch
    {
        BlobStoreUnavailableException => "blob store",
        DbException or TimeoutException => "metadata database",
        InvalidOperationException { InnerException: DbException or TimeoutException } => "metadata database",
        _ => null,
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "{Method} {Path}: the {Backend} is unavailable: {Reason}")]
        public static partial void Unavailable(ILogger logger, string method, string path, string backend, string reason);
    }
}
