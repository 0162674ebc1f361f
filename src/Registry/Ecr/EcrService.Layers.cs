using System.Text.Json;
using Registry.AwsApi;
using Registry.Core.Content;
using Registry.Distribution;
using Registry.Storage;

namespace Registry.Ecr;

/// <summary>Layers: availability, download URLs, and the part-by-part upload ECR's API offers beside <c>/v2</c>.</summary>
internal sealed partial class EcrService
{
    /// <summary>The part size reported by InitiateLayerUpload (a hint; any part size is accepted).</summary>
    private const long PartSize = 10 * 1024 * 1024;

    private async Task<object> BatchCheckLayerAvailabilityAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:BatchCheckLayerAvailability", name);
        await ExistingRepositoryAsync(call, name);
        var index = call.Context.RequestServices.GetRequiredService<BlobIndex>();
        var layers = new List<object>();
        var failures = new List<object>();
        foreach (var text in call.Strings("layerDigests", required: true))
        {
            if (!Digest.TryParse(text, out var digest))
            {
                failures.Add(new { layerDigest = text, failureCode = "InvalidLayerDigest", failureReason = "not a valid digest" });
                continue;
            }

            var size = await index.FindLinkedSizeAsync(name, digest);
            layers.Add(new { layerDigest = text, layerAvailability = size is null ? "UNAVAILABLE" : "AVAILABLE", layerSize = size });
        }

        return new { layers, failures };
    }

    private async Task<object> GetDownloadUrlForLayerAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:GetDownloadUrlForLayer", name);
        var text = call.Required("layerDigest");
        if (!Digest.TryParse(text, out var digest))
        {
            throw AwsApiException.InvalidParameter($"layerDigest '{text}' is not a valid digest");
        }

        await ExistingRepositoryAsync(call, name);
        if (await call.Context.RequestServices.GetRequiredService<BlobIndex>().FindLinkedSizeAsync(name, digest) is null)
        {
            throw new AwsApiException("LayersNotFoundException", $"The layer with digest '{text}' does not exist in the repository with name '{name}'");
        }

        // A presigned store URL when the store offers one (S3 with RedirectPulls); otherwise the /v2 blob URL, fetched with the caller's credentials.
        var direct = await call.Context.RequestServices.GetRequiredService<IBlobStore>().GetDownloadUrlAsync(digest, call.Context.RequestAborted);
        var request = call.Context.Request;
        return new { downloadUrl = direct?.ToString() ?? $"{request.Scheme}://{request.Host}/v2/{name}/blobs/{digest}", layerDigest = text };
    }

    private async Task<object> InitiateLayerUploadAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:InitiateLayerUpload", name);
        await ExistingRepositoryAsync(call, name);
        var session = await call.Context.RequestServices.GetRequiredService<UploadService>().StartAsync(name, call.Context.RequestAborted);
        return new { uploadId = session.Id, partSize = PartSize };
    }

    private async Task<object> UploadLayerPartAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:UploadLayerPart", name);
        var uploads = call.Context.RequestServices.GetRequiredService<UploadService>();
        var session = await FindUploadAsync(call, uploads, name);
        var first = Long(call, "partFirstByte");
        var last = Long(call, "partLastByte");
        byte[] part;
        try
        {
            part = Convert.FromBase64String(call.Required("layerPartBlob"));
        }
        catch (FormatException)
        {
            throw AwsApiException.InvalidParameter("layerPartBlob must be base64");
        }

        if (first != session.Offset || last < first || last - first + 1 != part.Length)
        {
            throw new AwsApiException("InvalidLayerPartException", $"The part must start at byte {session.Offset} and partLastByte must be partFirstByte + its length - 1");
        }

        var error = await uploads.AppendAsync(session, new MemoryStream(part), new ContentRange(first, last), part.Length, call.Context.RequestAborted);
        if (error is not null)
        {
            throw new AwsApiException("InvalidLayerPartException", error.Detail ?? error.Message);
        }

        return new { registryId = Aws.AccountId, repositoryName = name, uploadId = session.Id, lastByteReceived = last };
    }

    private async Task<object> CompleteLayerUploadAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:CompleteLayerUpload", name);
        var uploads = call.Context.RequestServices.GetRequiredService<UploadService>();
        var session = await FindUploadAsync(call, uploads, name);
        var digests = call.Strings("layerDigests", required: true);
        if (digests.Count != 1 || !Digest.TryParse(digests[0], out var digest))
        {
            throw AwsApiException.InvalidParameter("layerDigests must hold exactly one valid digest");
        }

        if (session.Offset == 0)
        {
            throw new AwsApiException("EmptyUploadException", $"The upload with id '{session.Id}' has no parts");
        }

        if (await call.Context.RequestServices.GetRequiredService<BlobIndex>().FindLinkedSizeAsync(name, digest) is not null)
        {
            await uploads.CancelAsync(session, call.Context.RequestAborted);
            throw new AwsApiException("LayerAlreadyExistsException", $"The layer with digest '{digest}' already exists in the repository with name '{name}'");
        }

        var error = await uploads.CompleteAsync(session, digest, call.Context.RequestAborted);
        return error is null
            ? new { registryId = Aws.AccountId, repositoryName = name, uploadId = session.Id, layerDigest = digest.Value }
            : throw new AwsApiException("InvalidLayerException", $"The uploaded content does not match the layer digest: {error.Detail}");
    }

    private static async Task<Data.Entities.UploadSessionEntity> FindUploadAsync(AwsCall call, UploadService uploads, string name)
    {
        var id = call.Required("uploadId");
        return (Guid.TryParseExact(id, "D", out _) ? await uploads.FindAsync(name, id) : null)
               ?? throw new AwsApiException("UploadNotFoundException", $"The upload with id '{id}' does not exist in the repository with name '{name}'");
    }

    private static long Long(AwsCall call, string name) =>
        call.Body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) && n >= 0
            ? n
            : throw AwsApiException.InvalidParameter($"{name} must be a non-negative integer");
}
