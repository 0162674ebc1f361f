using Registry.Distribution;

namespace Registry.Tests.Distribution;

public sealed class ContentRangeAndRouteTests
{
    [Theory]
    [InlineData("0-21", 0, 21)]
    [InlineData("22-41", 22, 41)]
    [InlineData("bytes=5-9", 5, 9)]
    [InlineData("bytes 5-9/100", 5, 9)]
    public void Parses_content_range_forms(string header, long start, long end)
    {
        Assert.True(ContentRange.TryParse(header, out var range));
        Assert.Equal(new ContentRange(start, end), range);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("9-5")]
    [InlineData("-5")]
    [InlineData("a-b")]
    [InlineData("1--2")]
    public void Rejects_malformed_content_range(string header) => Assert.False(ContentRange.TryParse(header, out _));

    [Theory]
    [InlineData("", RouteKind.Base, "", "")]
    [InlineData("_catalog", RouteKind.Catalog, "", "")]
    [InlineData("a/b/tags/list", RouteKind.TagsList, "a/b", "")]
    [InlineData("a/manifests/latest", RouteKind.Manifest, "a", "latest")]
    [InlineData("a/blobs/uploads/", RouteKind.UploadStart, "a", "")]
    [InlineData("a/blobs/uploads", RouteKind.UploadStart, "a", "")]
    [InlineData("a/blobs/uploads/123", RouteKind.Upload, "a", "123")]
    [InlineData("a/blobs/sha256:abc", RouteKind.Blob, "a", "sha256:abc")]
    [InlineData("x/blobs/y/manifests/v1", RouteKind.Manifest, "x/blobs/y", "v1")]
    [InlineData("a/referrers/sha256:abc", RouteKind.Referrers, "a", "sha256:abc")]
    public void Parses_routes_from_the_end(string path, RouteKind kind, string name, string argument)
    {
        var route = DistributionRoute.Parse(path);

        Assert.Equal(new DistributionRoute(kind, name, argument), route);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("a/unknown/x")]
    [InlineData("a/manifests/")]
    public void Unknown_paths_do_not_parse(string path) => Assert.Null(DistributionRoute.Parse(path));
}
