using System.Text.RegularExpressions;

namespace Registry.Distribution;

public enum RouteKind
{
    Base,
    Catalog,
    TagsList,
    Manifest,
    Blob,
    UploadStart,
    Upload,
    Referrers,
}

/// <summary>
/// A parsed <c>/v2/...</c> path. Repository names contain slashes, so the endpoint suffix is
/// matched from the end of the path; the name is everything before it.
/// </summary>
internal sealed partial record DistributionRoute(RouteKind Kind, string Name, string Argument)
{
    public static DistributionRoute? Parse(string path)
    {
        if (path is "" or "/")
        {
            return new(RouteKind.Base, "", "");
        }

        if (path is "_catalog" or "_catalog/")
        {
            return new(RouteKind.Catalog, "", "");
        }

        var match = Pattern().Match(path);
        if (!match.Success)
        {
            return null;
        }

        var name = match.Groups["name"].Value;
        if (match.Groups["tags"].Success)
        {
            return new(RouteKind.TagsList, name, "");
        }

        if (match.Groups["manifest"].Success)
        {
            return new(RouteKind.Manifest, name, match.Groups["manifest"].Value);
        }

        if (match.Groups["upload"].Success)
        {
            var id = match.Groups["upload"].Value;
            return id.Length == 0 ? new(RouteKind.UploadStart, name, "") : new(RouteKind.Upload, name, id);
        }

        if (match.Groups["blob"].Success)
        {
            return new(RouteKind.Blob, name, match.Groups["blob"].Value);
        }

        return new(RouteKind.Referrers, name, match.Groups["referrer"].Value);
    }

    [GeneratedRegex(
        @"^(?<name>.+?)/(?:(?<tags>tags/list)|manifests/(?<manifest>[^/]+)|blobs/uploads/?(?<upload>[^/]*)|blobs/(?<blob>[^/]+)|referrers/(?<referrer>[^/]+))$",
        RegexOptions.CultureInvariant | RegexOptions.RightToLeft)]
    private static partial Regex Pattern();
}
