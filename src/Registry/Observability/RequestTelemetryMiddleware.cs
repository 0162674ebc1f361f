using System.Diagnostics;

namespace Registry.Observability;

/// <summary>
/// Measures every request (count and latency by route, method and status; bytes pushed and pulled;
/// uploads in flight) and writes one access-log line per request: method, route, path, repository,
/// status, bytes in and out, duration, principal and request id. Query strings and headers are never
/// logged, so no credential or token reaches the log.
/// </summary>
internal sealed partial class RequestTelemetryMiddleware(RequestDelegate next, ILoggerFactory loggers, RegistryMetrics metrics)
{
    /// <summary>The access log's category: its level is set apart from the rest (<c>Logging:LogLevel:Registry.AccessLog</c>).</summary>
    public const string AccessLogCategory = "Registry.AccessLog";

    private readonly ILogger _accessLog = loggers.CreateLogger(AccessLogCategory);

    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var telemetry = new RequestTelemetry();
        context.Features.Set(telemetry);
        var body = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) ? null : new CountingStream(context.Request.Body);
        if (body is not null)
        {
            context.Request.Body = body;
        }

        var upload = body is not null && context.Request.Path.StartsWithSegments("/v2") && context.Request.Path.Value!.Contains("/blobs/uploads", StringComparison.Ordinal);
        if (upload)
        {
            metrics.UploadsInFlight.Inc();
        }

        try
        {
            await next(context);
        }
        catch (Exception) when (!context.Response.HasStarted)
        {
            // The server answers 500 for what escapes; count and log it as that, not as the 200 it was set to.
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            throw;
        }
        finally
        {
            if (upload)
            {
                metrics.UploadsInFlight.Dec();
            }

            Record(context, telemetry, body?.BytesRead ?? 0, Stopwatch.GetElapsedTime(started));
        }
    }

    private void Record(HttpContext context, RequestTelemetry telemetry, long bytesIn, TimeSpan elapsed)
    {
        var route = telemetry.RouteOf(context);
        var method = MethodLabel(context.Request.Method);
        var status = context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? 499 : context.Response.StatusCode;
        var bytesOut = HttpMethods.IsHead(method) ? 0 : context.Response.ContentLength ?? 0;
        metrics.Requests.WithLabels(route, method, StatusText(status)).Inc();
        metrics.RequestDuration.WithLabels(route, method).Observe(elapsed.TotalSeconds);
        if (route is "v2 upload" or "v2 upload start" or "v2 manifest" or "ecr UploadLayerPart" or "ecr PutImage" && status is >= 200 and < 300 && bytesIn > 0)
        {
            metrics.BytesPushed.Inc(bytesIn);
        }
        else if (route is "v2 blob" or "v2 manifest" && method == "GET" && status is 200 or 206)
        {
            metrics.BytesPulled.Inc(bytesOut);
        }

        Log.Request(_accessLog, method, route, context.Request.Path.Value ?? "", telemetry.Repository, status, bytesIn, bytesOut,
            Math.Round(elapsed.TotalMilliseconds, 2), context.User.Identity?.Name, context.TraceIdentifier);
    }

    /// <summary>Kestrel takes any method name: the label keeps the standard ones and calls the rest "other".</summary>
    private static string MethodLabel(string method) => method switch
    {
        "GET" or "HEAD" or "POST" or "PUT" or "PATCH" or "DELETE" or "OPTIONS" => method,
        _ => "other",
    };

    private static string StatusText(int status) => status switch
    {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        206 => "206",
        307 => "307",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, Level = LogLevel.Information,
            Message = "{Method} {Path} {Status} {BytesIn}/{BytesOut} bytes {DurationMs} ms route={Route} repository={Repository} principal={Principal} request={RequestId}")]
        public static partial void Request(ILogger logger, string method, string route, string path, string? repository, int status, long bytesIn, long bytesOut, double durationMs, string? principal, string requestId);
    }
}
