using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Registry.Core.Content;
using Registry.Core.Errors;
using Registry.Hosting;

namespace Registry.Distribution;

/// <summary><c>GET /v2/&lt;name&gt;/tags/list</c>, <c>GET /v2/_catalog</c> and <c>GET /v2/&lt;name&gt;/referrers/&lt;digest&gt;</c>.</summary>
internal static class ListingEndpoints
{
    public static async Task TagsAsync(HttpContext context, string repository)
    {
        if (!TryReadPage(context, out var limit, out var last))
        {
            await OciResponses.WriteErrorAsync(context, PageSizeInvalid(context));
            return;
        }

        var page = await context.RequestServices.GetRequiredService<ListingService>().ListTagsAsync(repository, last, limit, context.RequestAborted);
        if (page is null)
        {
            await OciResponses.WriteErrorAsync(context, OciError.NameUnknown(repository));
            return;
        }

        SetNextLink(context, $"/v2/{repository}/tags/list", page, limit);
        await JsonAsync(context, new TagList(repository, page.Items), DistributionJson.Default.TagList);
    }

    public static async Task CatalogAsync(HttpContext context)
    {
        if (!TryReadPage(context, out var limit, out var last))
        {
            await OciResponses.WriteErrorAsync(context, PageSizeInvalid(context));
            return;
        }

        var page = await context.RequestServices.GetRequiredService<ListingService>().ListRepositoriesAsync(last, limit, context.RequestAborted);
        SetNextLink(context, "/v2/_catalog", page, limit);
        await JsonAsync(context, new Catalog(page.Items), DistributionJson.Default.Catalog);
    }

    public static async Task ReferrersAsync(HttpContext context, string repository, string digestText)
    {
        if (!Digest.TryParse(digestText, out var digest))
        {
            await OciResponses.WriteErrorAsync(context, OciError.DigestInvalid($"'{digestText}' is not a valid digest"));
            return;
        }

        string? artifactType = context.Request.Query["artifactType"];
        if (string.IsNullOrEmpty(artifactType))
        {
            artifactType = null;
        }

        var index = await context.RequestServices.GetRequiredService<ListingService>().ListReferrersAsync(repository, digest, artifactType, context.RequestAborted);
        if (artifactType is not null)
        {
            context.Response.Headers["OCI-Filters-Applied"] = "artifactType";
        }

        context.Response.ContentType = Core.Manifests.MediaTypes.OciIndex;
        await JsonSerializer.SerializeAsync(context.Response.Body, index, DistributionJson.Default.ReferrersIndex, context.RequestAborted);
    }

    /// <summary>Reads <c>n</c> (capped) and <c>last</c>; false when <c>n</c> is not a non-negative integer.</summary>
    internal static bool TryReadPage(HttpContext context, out int limit, out string? last)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<RegistryOptions>>().Value;
        var query = context.Request.Query;
        last = string.IsNullOrEmpty(query["last"]) ? null : query["last"].ToString();
        limit = options.DefaultPageSize;
        if (!query.TryGetValue("n", out var n))
        {
            return true;
        }

        if (!int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out var requested))
        {
            return false;
        }

        limit = Math.Min(requested, options.MaxPageSize);
        return true;
    }

    internal static OciError PageSizeInvalid(HttpContext context) =>
        new(OciErrorCode.PaginationNumberInvalid, "invalid number of results requested", $"n='{context.Request.Query["n"]}' must be a non-negative integer");

    internal static void SetNextLink(HttpContext context, string path, Page page, int limit)
    {
        if (page.HasMore && page.Items.Count > 0)
        {
            var next = $"{path}?n={limit.ToString(CultureInfo.InvariantCulture)}&last={Uri.EscapeDataString(page.Items[^1])}";
            context.Response.Headers.Link = $"<{next}>; rel=\"next\"";
        }
    }

    private static Task JsonAsync<T>(HttpContext context, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, typeInfo, context.RequestAborted);
    }
}
