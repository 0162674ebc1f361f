namespace Registry.Observability;

/// <summary>
/// What a request was, for its metrics and its access-log line: a bounded route name (the endpoints
/// say it: <c>v2 blob</c>, <c>ecr PutImage</c>; otherwise the route template) and the repository.
/// </summary>
internal sealed class RequestTelemetry
{
    public string? Route { get; private set; }

    public string? Repository { get; private set; }

    /// <summary>Names the request's route (and repository) from inside its endpoint.</summary>
    public static void Describe(HttpContext context, string route, string? repository = null)
    {
        if (context.Features.Get<RequestTelemetry>() is { } telemetry)
        {
            telemetry.Route = route;
            telemetry.Repository = repository is { Length: > 0 } ? repository : null;
        }
    }

    /// <summary>The route's name: as the endpoint described it, its template, or <c>unmatched</c>.</summary>
    public string RouteOf(HttpContext context) =>
        Route ?? (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
}
