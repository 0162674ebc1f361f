using Microsoft.Extensions.Options;
using Registry.Core.Errors;
using Registry.Core.Names;
using Registry.Hosting;

namespace Registry.Distribution;

/// <summary><c>GET|HEAD|PUT|DELETE /v2/&lt;name&gt;/manifests/&lt;reference&gt;</c>.</summary>
internal static class ManifestEndpoints
{
    public static async Task GetAsync(HttpContext context, string repository, string referenceText)
    {
        if (await ParseExistingAsync(context, referenceText) is not { } reference)
        {
            return;
        }

        var cache = context.RequestServices.GetRequiredService<ManifestCache>();
        var key = cache.KeyFor(repository, reference);
        if (!cache.TryGet(key, out var manifest))
        {
            manifest = await context.RequestServices.GetRequiredService<ManifestService>().FindAsync(repository, reference);
            if (manifest is null)
            {
                await OciResponses.WriteErrorAsync(context, OciError.ManifestUnknown(referenceText));
                return;
            }

            cache.Set(key, manifest);
        }

        var response = context.Response;
        response.ContentType = manifest!.MediaType;
        response.ContentLength = manifest.Content.Length;
        response.Headers["Docker-Content-Digest"] = manifest.Digest;
        response.Headers.ETag = $"\"{manifest.Digest}\"";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(manifest.Content, context.RequestAborted);
        }
    }

    public static async Task PutAsync(HttpContext context, string repository, string referenceText)
    {
        var (reference, referenceError) = Reference.Parse(referenceText);
        if (reference is null)
        {
            await OciResponses.WriteErrorAsync(context, referenceError == ReferenceError.InvalidDigest
                ? OciError.DigestInvalid($"'{referenceText}' is not a valid digest")
                : new OciError(OciErrorCode.TagInvalid, "invalid tag", referenceText));
            return;
        }

        var limit = context.RequestServices.GetRequiredService<IOptions<RegistryOptions>>().Value.MaxManifestBytes;
        var content = await ReadCappedAsync(context.Request, limit, context.RequestAborted);
        if (content is null)
        {
            await OciResponses.WriteErrorAsync(context, new OciError(OciErrorCode.SizeInvalid, "manifest too large", $"manifests are limited to {limit} bytes", 413));
            return;
        }

        var (digest, manifest, error) = await context.RequestServices.GetRequiredService<ManifestService>()
            .PutAsync(repository, reference, content, context.Request.ContentType, context.RequestAborted);
        if (error is not null)
        {
            await OciResponses.WriteErrorAsync(context, error);
            return;
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status201Created;
        response.Headers.Location = $"/v2/{repository}/manifests/{digest}";
        response.Headers["Docker-Content-Digest"] = digest!.Value;
        if (manifest!.Subject is { } subject)
        {
            response.Headers["OCI-Subject"] = subject.Digest.Value;
        }

        response.ContentLength = 0;
    }

    public static async Task DeleteAsync(HttpContext context, string repository, string referenceText)
    {
        if (await ParseExistingAsync(context, referenceText) is not { } reference)
        {
            return;
        }

        if (!await context.RequestServices.GetRequiredService<ManifestService>().DeleteAsync(repository, reference, context.RequestAborted))
        {
            await OciResponses.WriteErrorAsync(context, OciError.ManifestUnknown(referenceText));
            return;
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
    }

    /// <summary>
    /// Parses the reference of a request for an existing manifest. A malformed digest is a 400; a string
    /// that cannot be a tag names no manifest, so it is a 404 (as the conformance suite expects).
    /// </summary>
    private static async Task<Reference?> ParseExistingAsync(HttpContext context, string referenceText)
    {
        var (reference, error) = Reference.Parse(referenceText);
        if (reference is null)
        {
            await OciResponses.WriteErrorAsync(context, error == ReferenceError.InvalidDigest
                ? OciError.DigestInvalid($"'{referenceText}' is not a valid digest")
                : OciError.ManifestUnknown(referenceText));
        }

        return reference;
    }

    /// <summary>Reads the whole body if it is at most <paramref name="limit"/> bytes; null if it is longer.</summary>
    private static async Task<byte[]?> ReadCappedAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        var buffer = new byte[request.ContentLength is { } length ? (int)length : Math.Min(limit + 1, 64 * 1024)];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                if (total > limit || request.ContentLength is not null)
                {
                    break;
                }

                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, limit + 1));
            }

            var read = await request.Body.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total > limit ? null : buffer[..total];
    }
}
