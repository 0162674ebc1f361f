using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Registry.AwsApi;
using Registry.Core.Content;
using Registry.Core.Errors;
using Registry.Core.Manifests;
using Registry.Core.Names;
using Registry.Distribution;

namespace Registry.Ecr;

/// <summary>Images: listing, describing, getting, putting and deleting manifests by tag or digest.</summary>
internal sealed partial class EcrService
{
    private async Task<object> ListImagesAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:ListImages", name);
        var limit = call.MaxResults(1000, 100);
        var after = call.PageAfter();
        var images = await ImagesAsync(call, name, TagStatusOf(call));
        var entries = images.SelectMany(i => i.Tags.Count == 0 ? [(i.Digest, Tag: (string?)null)] : i.Tags.Select(t => (i.Digest, Tag: (string?)t)))
            .Select(e => (e.Digest, e.Tag, Key: $"{e.Digest}|{e.Tag}"))
            .Where(e => after is null || string.CompareOrdinal(e.Key, after) > 0)
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        var page = entries.Take(limit).ToList();
        return new
        {
            imageIds = page.Select(e => new { imageDigest = e.Digest, imageTag = e.Tag }).ToList(),
            nextToken = entries.Count > limit ? AwsCallExtensions.NextToken(page[^1].Key) : null,
        };
    }

    private async Task<object> DescribeImagesAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:DescribeImages", name);
        var ids = ImageIdsOf(call, required: false);
        var limit = call.MaxResults(1000, 100);
        var after = call.PageAfter();
        var images = await ImagesAsync(call, name, ids.Count > 0 ? "ANY" : TagStatusOf(call));
        List<StoredImage> selected;
        if (ids.Count > 0)
        {
            selected = [];
            foreach (var id in ids)
            {
                var match = images.FirstOrDefault(i => (id.Digest is null || i.Digest == id.Digest) && (id.Tag is null || i.Tags.Contains(id.Tag)))
                            ?? throw new AwsApiException("ImageNotFoundException", $"The image with imageId {{imageDigest:'{id.Digest}', imageTag:'{id.Tag}'}} does not exist within the repository with name '{name}' in the registry with id '{Aws.AccountId}'");
                selected.Add(match);
            }

            selected = selected.DistinctBy(i => i.Digest).ToList();
        }
        else
        {
            selected = images.Where(i => after is null || string.CompareOrdinal(i.Digest, after) > 0).OrderBy(i => i.Digest, StringComparer.Ordinal).Take(limit + 1).ToList();
        }

        var page = ids.Count > 0 ? selected : selected.Take(limit).ToList();
        return new
        {
            imageDetails = page.Select(i => new
            {
                registryId = Aws.AccountId,
                repositoryName = name,
                imageDigest = i.Digest,
                imageTags = i.Tags.Count > 0 ? i.Tags : null,
                imageSizeInBytes = i.Size,
                imagePushedAt = AwsCallExtensions.Epoch(i.PushedAt),
                imageManifestMediaType = i.MediaType,
                artifactMediaType = i.ArtifactType,
            }).ToList(),
            nextToken = ids.Count == 0 && selected.Count > limit ? AwsCallExtensions.NextToken(page[^1].Digest) : null,
        };
    }

    private async Task<object> BatchGetImageAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:BatchGetImage", name);
        var accepted = call.Strings("acceptedMediaTypes", required: false);
        var ids = ImageIdsOf(call, required: true);
        var manifests = call.Context.RequestServices.GetRequiredService<ManifestService>();
        await ExistingRepositoryAsync(call, name);
        var images = new List<object>();
        var failures = new List<object>();
        foreach (var id in ids)
        {
            var reference = id.Digest is not null ? new Reference(null, Digest.Parse(id.Digest)) : new Reference(id.Tag, null);
            var found = await manifests.FindAsync(name, reference);
            if (found is null || (id.Digest is not null && id.Tag is not null && (await manifests.FindAsync(name, new Reference(id.Tag, null)))?.Digest != id.Digest))
            {
                failures.Add(Failure(id, found is null ? "ImageNotFound" : "ImageTagDoesNotMatchDigest", found is null ? "Requested image not found" : "Requested image's tag does not match its digest"));
                continue;
            }

            if (accepted.Count > 0 && !accepted.Contains(found.MediaType))
            {
                failures.Add(Failure(id, "UnsupportedImageType", $"the image's media type {found.MediaType} is not among acceptedMediaTypes"));
                continue;
            }

            images.Add(new
            {
                registryId = Aws.AccountId,
                repositoryName = name,
                imageId = new { imageDigest = found.Digest, imageTag = id.Tag },
                imageManifest = Encoding.UTF8.GetString(found.Content),
                imageManifestMediaType = found.MediaType,
            });
        }

        return new { images, failures };
    }

    private async Task<object> BatchDeleteImageAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:BatchDeleteImage", name);
        var ids = ImageIdsOf(call, required: true);
        await ExistingRepositoryAsync(call, name);
        var manifests = call.Context.RequestServices.GetRequiredService<ManifestService>();
        var deleted = new List<object>();
        var failures = new List<object>();
        foreach (var id in ids)
        {
            var found = await manifests.FindAsync(name, id.Digest is not null ? new Reference(null, Digest.Parse(id.Digest)) : new Reference(id.Tag, null));
            if (found is null)
            {
                failures.Add(Failure(id, "ImageNotFound", "Requested image not found"));
                continue;
            }

            if (id.Digest is not null)
            {
                await manifests.DeleteAsync(name, new Reference(null, Digest.Parse(found.Digest)), call.Context.RequestAborted);
            }
            else
            {
                // As ECR does: deleting an image's last tag deletes the image.
                await manifests.DeleteAsync(name, new Reference(id.Tag, null), call.Context.RequestAborted);
                var images = await ImagesAsync(call, name, "ANY");
                if (images.FirstOrDefault(i => i.Digest == found.Digest) is { Tags.Count: 0 })
                {
                    await manifests.DeleteAsync(name, new Reference(null, Digest.Parse(found.Digest)), call.Context.RequestAborted);
                }
            }

            deleted.Add(new { imageDigest = found.Digest, imageTag = id.Tag });
        }

        return new { imageIds = deleted, failures };
    }

    private async Task<object> PutImageAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:PutImage", name);
        var manifestText = call.Required("imageManifest");
        var tag = call.Optional("imageTag");
        var digestText = call.Optional("imageDigest");
        if (tag is not null && !TagName.IsValid(tag))
        {
            throw AwsApiException.InvalidParameter($"imageTag '{tag}' is not a valid tag");
        }

        if (digestText is not null && !Digest.TryParse(digestText, out _))
        {
            throw AwsApiException.InvalidParameter($"imageDigest '{digestText}' is not a valid digest");
        }

        await ExistingRepositoryAsync(call, name);
        var content = Encoding.UTF8.GetBytes(manifestText);
        var mediaType = call.Optional("imageManifestMediaType") ?? MediaTypeOf(content);
        var manifests = call.Context.RequestServices.GetRequiredService<ManifestService>();
        var digest = digestText ?? Digest.Compute(content).Value;
        if (tag is not null && (await manifests.FindAsync(name, new Reference(tag, null)))?.Digest == digest)
        {
            throw new AwsApiException("ImageAlreadyExistsException", $"Image with digest '{digest}' and tag '{tag}' already exists in the repository with name '{name}' in the registry with id '{Aws.AccountId}'");
        }

        var reference = tag is not null ? new Reference(tag, null) : new Reference(null, Digest.Parse(digest));
        var (stored, _, error) = await manifests.PutAsync(name, reference, content, mediaType, call.Context.RequestAborted);
        if (error is not null)
        {
            throw error.Code switch
            {
                OciErrorCode.ManifestBlobUnknown => new AwsApiException("LayersNotFoundException", $"Layers with digests ['{error.Detail}'] required for pushing image into repository with name '{name}' in the registry with id '{Aws.AccountId}' do not exist"),
                OciErrorCode.ManifestUnknown => new AwsApiException("ReferencedImagesNotFoundException", $"Images with digests ['{error.Detail}'] referenced by the index do not exist"),
                OciErrorCode.TagInvalid => new AwsApiException("ImageTagAlreadyExistsException", $"The image tag '{tag}' already exists in the '{name}' repository and cannot be overwritten because the repository is immutable."),
                OciErrorCode.DigestInvalid => new AwsApiException("ImageDigestDoesNotMatchException", error.Detail ?? error.Message),
                _ => AwsApiException.InvalidParameter($"Invalid parameter at 'imageManifest': {error.Message} ({error.Detail})"),
            };
        }

        return new
        {
            image = new
            {
                registryId = Aws.AccountId,
                repositoryName = name,
                imageId = new { imageDigest = stored!.Value, imageTag = tag },
                imageManifest = manifestText,
                imageManifestMediaType = mediaType,
            },
        };
    }

    private sealed record ImageId(string? Digest, string? Tag);

    private sealed record StoredImage(string Digest, List<string> Tags, string MediaType, string? ArtifactType, long Size, DateTime PushedAt);

    /// <summary>The repository's manifests with their tags, filtered by tag status (TAGGED, UNTAGGED, ANY).</summary>
    private async Task<List<StoredImage>> ImagesAsync(AwsCall call, string name, string tagStatus)
    {
        await using var db = await DbAsync(call);
        var repository = await FindRepositoryAsync(db, name, call);
        var manifests = await db.Manifests.AsNoTracking().Where(m => m.RepositoryId == repository.Id)
            .Select(m => new { m.Digest, m.MediaType, m.ArtifactType, m.Content, m.CreatedAt }).ToListAsync(call.Context.RequestAborted);
        var tags = (await db.Tags.AsNoTracking().Where(t => t.RepositoryId == repository.Id).Select(t => new { t.Name, t.ManifestDigest }).ToListAsync(call.Context.RequestAborted))
            .ToLookup(t => t.ManifestDigest, t => t.Name);
        return manifests
            .Select(m => new StoredImage(m.Digest, tags[m.Digest].Order(StringComparer.Ordinal).ToList(), m.MediaType, m.ArtifactType, SizeOf(m.Content, m.MediaType), m.CreatedAt))
            .Where(i => tagStatus == "ANY" || (tagStatus == "TAGGED") == (i.Tags.Count > 0))
            .ToList();
    }

    /// <summary>As ECR reports imageSizeInBytes: the sum of the layers (an index: its own bytes).</summary>
    private static long SizeOf(byte[] content, string mediaType)
    {
        var (parsed, _) = ManifestParser.Parse(content, mediaType);
        return parsed is { Layers.Count: > 0 } ? parsed.Layers.Sum(l => l.Size) + (parsed.Config?.Size ?? 0) : content.Length;
    }

    private static string MediaTypeOf(byte[] content)
    {
        try
        {
            using var json = JsonDocument.Parse(content);
            return json.RootElement.TryGetProperty("mediaType", out var mediaType) && mediaType.ValueKind == JsonValueKind.String
                ? mediaType.GetString()!
                : throw AwsApiException.InvalidParameter("imageManifestMediaType is required when the manifest has no mediaType");
        }
        catch (JsonException)
        {
            throw AwsApiException.InvalidParameter("Invalid parameter at 'imageManifest' failed to satisfy constraint: 'must be valid JSON'");
        }
    }

    private static string TagStatusOf(AwsCall call)
    {
        if (!call.Body.TryGetProperty("filter", out var filter) || filter.ValueKind == JsonValueKind.Null)
        {
            return "ANY";
        }

        var status = filter.ValueKind == JsonValueKind.Object && filter.TryGetProperty("tagStatus", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        return status is "TAGGED" or "UNTAGGED" or "ANY" ? status : throw AwsApiException.InvalidParameter("filter.tagStatus must be TAGGED, UNTAGGED or ANY");
    }

    private static List<ImageId> ImageIdsOf(AwsCall call, bool required) =>
        call.Array("imageIds", required).Select(e =>
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                throw AwsApiException.InvalidParameter("imageIds must be a list of {imageDigest, imageTag}");
            }

            var digest = e.TryGetProperty("imageDigest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            var tag = e.TryGetProperty("imageTag", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (digest is null && tag is null)
            {
                throw AwsApiException.InvalidParameter("each imageId needs imageDigest or imageTag");
            }

            if (digest is not null && !Digest.TryParse(digest, out _))
            {
                throw AwsApiException.InvalidParameter($"imageDigest '{digest}' is not a valid digest");
            }

            return tag is not null && !TagName.IsValid(tag) ? throw AwsApiException.InvalidParameter($"imageTag '{tag}' is not a valid tag") : new ImageId(digest, tag);
        }).ToList();

    private static object Failure(ImageId id, string code, string reason) =>
        new { imageId = new { imageDigest = id.Digest, imageTag = id.Tag }, failureCode = code, failureReason = reason };

    private async Task ExistingRepositoryAsync(AwsCall call, string name)
    {
        await using var db = await DbAsync(call);
        await FindRepositoryAsync(db, name, call);
    }
}
