using Registry.Core.Content;

namespace Registry.Tests.Core;

public sealed class DigestTests
{
    [Theory]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")]
    public void Parses_canonical_digests(string value)
    {
        Assert.True(Digest.TryParse(value, out var digest));
        Assert.Equal(value, digest.Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("sha256")]
    [InlineData("sha256:")]
    [InlineData(":abc")]
    [InlineData("sha256:totallywrong")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("sha256:../../../../etc/passwd00000000000000000000000000000000000000000")]
    public void Rejects_malformed_or_unsupported_digests(string value) => Assert.False(Digest.TryParse(value, out _));

    [Fact]
    public void Compute_matches_sha256_of_empty_input() =>
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Digest.Compute([]).Value);

    [Fact]
    public void Matches_checks_content_with_the_digest_algorithm()
    {
        var digest = Digest.Parse("sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");

        Assert.True(digest.Matches([]));
        Assert.False(digest.Matches([0]));
    }
}
