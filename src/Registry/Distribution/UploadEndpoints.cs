using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Registry.Auth;
using Registry.Core.Content;
using Registry.Core.Errors;
using Registry.Core.Names;
using Registry.Data.Entities;
using Registry.Hosting;
using Registry.Iam;

namespace Registry.Distribution;

/// <summary>
/// Blob uploads: <c>POST /v2/&lt;name&gt;/blobs/uploads/</c> (session, monolithic or mount) and
/// <c>GET|PATCH|PUT|DELETE /v2/&lt;name&gt;/blobs/uploads/&lt;id&gt;</c>.
/// </summary>
internal static class UploadEndpoints
{
    public static async Task StartAsync(HttpContext context, string repository)
    {
        var query = context.Request.Query;
        var uploads = context.RequestServices.GetRequiredService<UploadService>();

        if (query.ContainsKey("mount"))
        {
            if (!Digest.TryParse(query["mount"], out var mountDigest))
            {
                await OciResponses.WriteErrorAsync(context, OciError.DigestInvalid($"mount '{query["mount"]}' is not a valid digest"));
                return;
            }

            if (await TryMountAsync(context, repository, mountDigest, query["from"]))
            {
                WriteBlobCreated(context, repository, mountDigest);
                return;
            }
        }
        else if (query.ContainsKey("digest"))
        {
            if (!Digest.TryParse(query["digest"], out var digest))
            {
                await OciResponses.WriteErrorAsync(context, OciError.DigestInvalid($"'{query["digest"]}' is not a valid digest"));
                return;
            }

            DistributionApi.AllowUnlimitedBody(context);
            if (await uploads.PutMonolithicAsync(repository, digest, context.Request.Body, context.RequestAborted) is { } error)
            {
                await OciResponses.WriteErrorAsync(context, error);
                return;
            }

            WriteBlobCreated(context, repository, digest);
            return;
        }

        var session = await uploads.StartAsync(repository, context.RequestAborted);
        WriteSessionState(context, repository, session, StatusCodes.Status202Accepted);
    }

    public static async Task StatusAsync(HttpContext context, string repository, string id)
    {
        if (await FindSessionAsync(context, repository, id) is { } session)
        {
            WriteSessionState(context, repository, session, StatusCodes.Status204NoContent);
        }
    }

    public static async Task PatchAsync(HttpContext context, string repository, string id)
    {
        if (await FindSessionAsync(context, repository, id) is not { } session)
        {
            return;
        }

        DistributionApi.AllowUnlimitedBody(context);
        var rangeHeader = context.Request.Headers.ContentRange.ToString();
        ContentRange? range = null;
        if (rangeHeader.Length > 0)
        {
            if (!ContentRange.TryParse(rangeHeader, out var parsed))
            {
                await WriteRangeErrorAsync(context, repository, session, new OciError(OciErrorCode.BlobUploadInvalid, "malformed Content-Range", rangeHeader, 416));
                return;
            }

            range = parsed;
        }

        var uploads = context.RequestServices.GetRequiredService<UploadService>();
        if (await uploads.AppendAsync(session, context.Request.Body, range, context.Request.ContentLength, context.RequestAborted) is { } error)
        {
            await WriteRangeErrorAsync(context, repository, session, error);
            return;
        }

        WriteSessionState(context, repository, session, StatusCodes.Status202Accepted);
    }

    public static async Task PutAsync(HttpContext context, string repository, string id)
    {
        if (await FindSessionAsync(context, repository, id) is not { } session)
        {
            return;
        }

        if (!Digest.TryParse(context.Request.Query["digest"], out var digest))
        {
            await OciResponses.WriteErrorAsync(context, OciError.DigestInvalid($"digest '{context.Request.Query["digest"]}' is missing or malformed"));
            return;
        }

        var uploads = context.RequestServices.GetRequiredService<UploadService>();
        if (HasBody(context))
        {
            DistributionApi.AllowUnlimitedBody(context);
            ContentRange? range = ContentRange.TryParse(context.Request.Headers.ContentRange, out var parsed) ? parsed : null;
            if (await uploads.AppendAsync(session, context.Request.Body, range, context.Request.ContentLength, context.RequestAborted) is { } appendError)
            {
                await WriteRangeErrorAsync(context, repository, session, appendError);
                return;
            }
        }

        if (await uploads.CompleteAsync(session, digest, context.RequestAborted) is { } error)
        {
            await OciResponses.WriteErrorAsync(context, error);
            return;
        }

        WriteBlobCreated(context, repository, digest);
    }

    public static async Task CancelAsync(HttpContext context, string repository, string id)
    {
        if (await FindSessionAsync(context, repository, id) is not { } session)
        {
            return;
        }

        await context.RequestServices.GetRequiredService<UploadService>().CancelAsync(session, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>
    /// Links an existing blob instead of uploading it: from the named repository if the caller may pull
    /// from it, or, with no <c>from</c> and automatic mounting on, from any repository the caller may pull from.
    /// </summary>
    private static async Task<bool> TryMountAsync(HttpContext context, string repository, Digest digest, string? from)
    {
        var services = context.RequestServices;
        var index = services.GetRequiredService<BlobIndex>();
        var authorizer = services.GetRequiredService<RegistryAccess>();
        IEnumerable<string> candidates;
        if (!string.IsNullOrEmpty(from))
        {
            candidates = RepositoryName.IsValid(from) ? [from] : [];
        }
        else if (services.GetRequiredService<IOptions<RegistryOptions>>().Value.AutomaticCrossMount)
        {
            candidates = await index.FindRepositoriesLinkingAsync(digest, 20, context.RequestAborted);
        }
        else
        {
            return false;
        }

        foreach (var source in candidates)
        {
            if (await index.FindLinkedSizeAsync(source, digest) is null)
            {
                continue;
            }

            var decision = await authorizer.CheckAsync(context, new AccessScope("repository", source, [AccessScope.Pull]), EcrActions.GetDownloadUrlForLayer);
            if (!decision.Allowed)
            {
                continue;
            }

            var repositoryId = await services.GetRequiredService<RepositoryStore>().EnsureAsync(repository, context.RequestAborted);
            if (await index.MountAsync(repositoryId, digest, context.RequestAborted))
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<UploadSessionEntity?> FindSessionAsync(HttpContext context, string repository, string id)
    {
        var session = Guid.TryParseExact(id, "D", out _)
            ? await context.RequestServices.GetRequiredService<UploadService>().FindAsync(repository, id)
            : null;
        if (session is null)
        {
            await OciResponses.WriteErrorAsync(context, OciError.UploadUnknown(id));
        }

        return session;
    }

    private static bool HasBody(HttpContext context) =>
        context.Request.ContentLength is > 0
        || (context.Request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true);

    private static async Task WriteRangeErrorAsync(HttpContext context, string repository, UploadSessionEntity session, OciError error)
    {
        // The client learns where the upload really stands, to resume from there.
        SetSessionHeaders(context, repository, session);
        await OciResponses.WriteErrorAsync(context, error);
    }

    private static void WriteSessionState(HttpContext context, string repository, UploadSessionEntity session, int status)
    {
        SetSessionHeaders(context, repository, session);
        context.Response.StatusCode = status;
        context.Response.ContentLength = 0;
    }

    private static void SetSessionHeaders(HttpContext context, string repository, UploadSessionEntity session)
    {
        var headers = context.Response.Headers;
        headers.Location = $"/v2/{repository}/blobs/uploads/{session.Id}";
        headers["Docker-Upload-UUID"] = session.Id;
        // Inclusive end, as docker expects; an empty upload reports 0-0, as distribution does.
        headers.Range = "0-" + Math.Max(0, session.Offset - 1).ToString(CultureInfo.InvariantCulture);
    }

    private static void WriteBlobCreated(HttpContext context, string repository, Digest digest)
    {
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = $"/v2/{repository}/blobs/{digest}";
        context.Response.Headers["Docker-Content-Digest"] = digest.Value;
        context.Response.ContentLength = 0;
    }
}
