using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Registry.Audit;
using Registry.Auth;
using Registry.Core.Errors;
using Registry.Core.Names;
using Registry.Iam;
using Registry.Storage;
using Registry.Observability;

namespace Registry.Distribution;

/// <summary>
/// The <c>/v2</c> API of the OCI distribution spec. One endpoint parses the path (repository names
/// contain slashes, which route templates cannot express), checks access, and hands over to the
/// handler for the route.
/// </summary>
internal static partial class DistributionApi
{
    public static IEndpointRouteBuilder MapDistributionApi(this IEndpointRouteBuilder app)
    {
        app.Map("/v2", HandleAsync);
        app.Map("/v2/{**path}", HandleAsync);
        return app;
    }

    /// <summary>The route's name in metrics and the access log.</summary>
    private static string RouteName(RouteKind kind) => kind switch
    {
        RouteKind.Base => "v2 base",
        RouteKind.Catalog => "v2 catalog",
        RouteKind.TagsList => "v2 tags",
        RouteKind.Manifest => "v2 manifest",
        RouteKind.Blob => "v2 blob",
        RouteKind.UploadStart => "v2 upload start",
        RouteKind.Upload => "v2 upload",
        _ => "v2 referrers",
    };

    private static async Task HandleAsync(HttpContext context)
    {
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        var route = DistributionRoute.Parse(context.Request.RouteValues["path"] as string ?? "");
        RequestTelemetry.Describe(context, route is null ? "v2 unknown" : RouteName(route.Kind), route?.Name);
        if (route is null)
        {
            await OciResponses.WriteErrorAsync(context, new OciError(OciErrorCode.Unsupported, "no such endpoint", context.Request.Path, 404));
            return;
        }

        if (route.Kind is not (RouteKind.Base or RouteKind.Catalog) && !RepositoryName.IsValid(route.Name))
        {
            await OciResponses.WriteErrorAsync(context, OciError.NameInvalid(route.Name));
            return;
        }

        var method = context.Request.Method;
        if (!TryGetRequiredAccess(route, method, out var required, out var ecrAction))
        {
            context.Response.Headers.Allow = AllowedMethods(route.Kind);
            await OciResponses.WriteErrorAsync(context, OciResponses.MethodNotAllowed(method));
            return;
        }

        try
        {
            var decision = await context.RequestServices.GetRequiredService<RegistryAccess>().CheckAsync(context, required, ecrAction);
            if (!decision.Allowed)
            {
                if (decision.Challenge is not null)
                {
                    context.Response.Headers.WWWAuthenticate = decision.Challenge;
                }

                await OciResponses.WriteErrorAsync(context, decision.Error!);
                Audit(context, route, ecrAction);
                return;
            }

            await DispatchAsync(context, route, method);
            if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))
            {
                Audit(context, route, ecrAction);
            }
        }
        catch (BlobUnreadableException e)
        {
            // Never serve bytes that fail authentication: an error before the response starts, a cut connection after.
            Log.BlobUnreadable(Logger(context), context.Request.Path, e.Message);
            await OciResponses.FailAsync(context, new OciError(OciErrorCode.Unknown, "the stored blob cannot be read", e.Message));
        }
        catch (Exception e) when (IsClientGone(context, e))
        {
            Log.ClientAborted(Logger(context), method, context.Request.Path, e.Message);
            if (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                await OciResponses.WriteErrorAsync(context, new OciError(OciErrorCode.BlobUploadInvalid, "the request body was incomplete", e.Message));
            }
        }
    }

    private static Task DispatchAsync(HttpContext context, DistributionRoute route, string method) => route.Kind switch
    {
        RouteKind.Base => Task.CompletedTask,
        RouteKind.Catalog => ListingEndpoints.CatalogAsync(context),
        RouteKind.TagsList => ListingEndpoints.TagsAsync(context, route.Name),
        RouteKind.Referrers => ListingEndpoints.ReferrersAsync(context, route.Name, route.Argument),
        RouteKind.Manifest when HttpMethods.IsPut(method) => ManifestEndpoints.PutAsync(context, route.Name, route.Argument),
        RouteKind.Manifest when HttpMethods.IsDelete(method) => ManifestEndpoints.DeleteAsync(context, route.Name, route.Argument),
        RouteKind.Manifest => ManifestEndpoints.GetAsync(context, route.Name, route.Argument),
        RouteKind.Blob when HttpMethods.IsDelete(method) => BlobEndpoints.DeleteAsync(context, route.Name, route.Argument),
        RouteKind.Blob => BlobEndpoints.GetAsync(context, route.Name, route.Argument),
        RouteKind.UploadStart => UploadEndpoints.StartAsync(context, route.Name),
        RouteKind.Upload when HttpMethods.IsGet(method) => UploadEndpoints.StatusAsync(context, route.Name, route.Argument),
        RouteKind.Upload when HttpMethods.IsPatch(method) => UploadEndpoints.PatchAsync(context, route.Name, route.Argument),
        RouteKind.Upload when HttpMethods.IsPut(method) => UploadEndpoints.PutAsync(context, route.Name, route.Argument),
        RouteKind.Upload => UploadEndpoints.CancelAsync(context, route.Name, route.Argument),
        _ => throw new InvalidOperationException($"unhandled route {route.Kind}"),
    };

    /// <summary>
    /// The ECR action a route and method perform, and the scope the token flow names for it; false when
    /// the method is not served there.
    /// </summary>
    private static bool TryGetRequiredAccess(DistributionRoute route, string method, out AccessScope? required, out string? ecrAction)
    {
        required = null;
        bool get = HttpMethods.IsGet(method), head = HttpMethods.IsHead(method);
        (string Docker, string Ecr)? access = route.Kind switch
        {
            RouteKind.Base when get || head => ("", ""),
            RouteKind.Catalog when get => ("*", EcrActions.DescribeRepositories),
            RouteKind.TagsList or RouteKind.Referrers when get => (AccessScope.Pull, EcrActions.ListImages),
            RouteKind.Manifest when get || head => (AccessScope.Pull, EcrActions.BatchGetImage),
            RouteKind.Blob when get => (AccessScope.Pull, EcrActions.GetDownloadUrlForLayer),
            RouteKind.Blob when head => (AccessScope.Pull, EcrActions.BatchCheckLayerAvailability),
            RouteKind.Manifest when HttpMethods.IsPut(method) => (AccessScope.Push, EcrActions.PutImage),
            RouteKind.Manifest or RouteKind.Blob when HttpMethods.IsDelete(method) => (AccessScope.Delete, EcrActions.BatchDeleteImage),
            RouteKind.UploadStart when HttpMethods.IsPost(method) => (AccessScope.Push, EcrActions.InitiateLayerUpload),
            RouteKind.Upload when HttpMethods.IsPut(method) => (AccessScope.Push, EcrActions.CompleteLayerUpload),
            RouteKind.Upload when get || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method) => (AccessScope.Push, EcrActions.UploadLayerPart),
            _ => null,
        };
        ecrAction = null;
        if (access is not { } found)
        {
            return false;
        }

        ecrAction = found.Ecr.Length == 0 ? null : found.Ecr;
        required = route.Kind switch
        {
            RouteKind.Base => null,
            RouteKind.Catalog => new AccessScope("registry", "catalog", ["*"]),
            _ => new AccessScope("repository", route.Name, [found.Docker]),
        };
        return true;
    }

    /// <summary>Audits a change or a denial (the unauthenticated probe of <c>/v2/</c> that every client sends first is not one).</summary>
    private static void Audit(HttpContext context, DistributionRoute route, string? ecrAction)
    {
        if (ecrAction is null)
        {
            return;
        }

        var arns = context.RequestServices.GetRequiredService<IOptions<AwsOptions>>().Value;
        var status = context.Response.StatusCode;
        context.RequestServices.GetRequiredService<AuditLog>().Record(
            context,
            ecrAction,
            route.Kind == RouteKind.Catalog ? arns.RegistryArn : arns.RepositoryArn(route.Name),
            AuditLog.OutcomeOf(status),
            $"{context.Request.Method} {status}");
    }

    private static string AllowedMethods(RouteKind kind) => kind switch
    {
        RouteKind.Base or RouteKind.Catalog or RouteKind.TagsList or RouteKind.Referrers => "GET, HEAD",
        RouteKind.Manifest => "GET, HEAD, PUT, DELETE",
        RouteKind.Blob => "GET, HEAD, DELETE",
        RouteKind.UploadStart => "POST",
        _ => "GET, PATCH, PUT, DELETE",
    };

    /// <summary>
    /// Blob routes stream bodies of any size; everything else keeps Kestrel's default limit. Set per
    /// request, never lifted globally.
    /// </summary>
    internal static void AllowUnlimitedBody(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = null;
        }
    }

    private static bool IsClientGone(HttpContext context, Exception e) =>
        context.RequestAborted.IsCancellationRequested
        || e is BadHttpRequestException or ConnectionResetException
        || (e is IOException && e.InnerException is ConnectionResetException or BadHttpRequestException);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "{Method} {Path} aborted by the client: {Reason}")]
        public static partial void ClientAborted(ILogger logger, string method, string path, string reason);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "{Path}: stored blob cannot be served: {Reason}")]
        public static partial void BlobUnreadable(ILogger logger, string path, string reason);
    }

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Registry.Distribution");
}
