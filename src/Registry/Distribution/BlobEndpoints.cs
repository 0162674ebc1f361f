using Microsoft.Net.Http.Headers;
using Registry.Core.Content;
using Registry.Core.Errors;
using Registry.Storage;

namespace Registry.Distribution;

/// <summary><c>GET|HEAD|DELETE /v2/&lt;name&gt;/blobs/&lt;digest&gt;</c>.</summary>
internal static class BlobEndpoints
{
    public static async Task GetAsync(HttpContext context, string repository, string digestText)
    {
        if (!Digest.TryParse(digestText, out var digest))
        {
            await OciResponses.WriteErrorAsync(context, OciError.DigestInvalid($"'{digestText}' is not a valid digest"));
            return;
        }

        var index = context.RequestServices.GetRequiredService<BlobIndex>();
        if (await index.FindLinkedSizeAsync(repository, digest) is not { } size)
        {
            await OciResponses.WriteErrorAsync(context, OciError.BlobUnknown(digest));
            return;
        }

        var headers = context.Response.Headers;
        headers["Docker-Content-Digest"] = digest.Value;
        headers.CacheControl = "max-age=31536000";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            headers.ETag = $"\"{digest}\"";
            headers.AcceptRanges = "bytes";
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = size;
            return;
        }

        var store = context.RequestServices.GetRequiredService<IBlobStore>();
        var stream = await store.OpenReadAsync(digest, context.RequestAborted);
        if (stream is null)
        {
            await OciResponses.WriteErrorAsync(context, OciError.BlobUnknown(digest));
            return;
        }

        // Range, If-Range and 416 as ASP.NET Core's file results do them.
        await Results.Stream(stream, "application/octet-stream", entityTag: new EntityTagHeaderValue($"\"{digest}\""), enableRangeProcessing: true)
            .ExecuteAsync(context);
    }

    public static async Task DeleteAsync(HttpContext context, string repository, string digestText)
    {
        if (!Digest.TryParse(digestText, out var digest))
        {
            await OciResponses.WriteErrorAsync(context, OciError.DigestInvalid($"'{digestText}' is not a valid digest"));
            return;
        }

        var index = context.RequestServices.GetRequiredService<BlobIndex>();
        if (!await index.UnlinkAsync(repository, digest, context.RequestAborted))
        {
            await OciResponses.WriteErrorAsync(context, OciError.BlobUnknown(digest));
            return;
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
    }
}
