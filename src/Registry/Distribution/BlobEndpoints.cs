using Microsoft.Net.Http.Headers;
using Registry.Core.Content;
using Registry.Core.Errors;
using Registry.Storage;

namespace Registry.Distribution;

/// <summary><c>GET|HEAD|DELETE /v2/&lt;name&gt;/blobs/&lt;digest&gt;</c>.</summary>
internal static class BlobEndpoints
{
    private const int SendChunkSize = 1048576;

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
        if (await store.GetDownloadUrlAsync(digest, context.RequestAborted) is { } direct)
        {
            // The bytes come from the object store itself; the client verifies them against the digest.
            context.Response.StatusCode = StatusCodes.Status307TemporaryRedirect;
            headers.Location = direct.ToString();
            headers.CacheControl = "no-store";
            context.Response.ContentLength = 0;
            return;
        }

        var stream = await store.OpenReadAsync(digest, context.RequestAborted);
        if (stream is null)
        {
            await OciResponses.WriteErrorAsync(context, OciError.BlobUnknown(digest));
            return;
        }

        if (context.Request.Headers.Range.Count == 0)
        {
            await using (stream)
            {
                await SendWholeAsync(context, stream, digest, size);
            }

            return;
        }

        // Range, If-Range and 416 as ASP.NET Core's file results do them.
        await Results.Stream(stream, "application/octet-stream", entityTag: new EntityTagHeaderValue($"\"{digest}\""), enableRangeProcessing: true)
            .ExecuteAsync(context);
    }

    /// <summary>
    /// The common case, a whole blob: read straight into the response's buffers (no intermediate copy),
    /// in large pieces, letting the connection's flow control pace the reads.
    /// </summary>
    private static async Task SendWholeAsync(HttpContext context, Stream stream, Digest digest, long size)
    {
        var response = context.Response;
        response.ContentType = "application/octet-stream";
        response.ContentLength = size;
        response.Headers.ETag = $"\"{digest}\"";
        response.Headers.AcceptRanges = "bytes";
        var writer = response.BodyWriter;
        var remaining = size;
        while (remaining > 0)
        {
            // Fill up to SendChunkSize of the pipe's (smaller) segments before each flush: one flush, and
            // one wake-up of the connection's send loop, per MiB rather than per segment.
            var batch = 0L;
            while (batch < SendChunkSize && remaining > 0)
            {
                var memory = writer.GetMemory();
                var read = await stream.ReadAsync(memory[..(int)Math.Min(memory.Length, remaining)], context.RequestAborted);
                if (read == 0)
                {
                    // The store holds fewer bytes than recorded: end the response short rather than pad it.
                    context.Abort();
                    return;
                }

                writer.Advance(read);
                remaining -= read;
                batch += read;
            }

            var flushed = await writer.FlushAsync(context.RequestAborted);
            if (flushed.IsCompleted || flushed.IsCanceled)
            {
                return;
            }
        }
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
