using Registry.Security.SigV4;

namespace Registry.Tests.Security;

/// <summary>Signature V4 against AWS's published examples, and the Authorization header's bad forms.</summary>
public sealed class SigV4Tests
{
    [Fact]
    public void Signs_the_s3_get_object_example_from_the_aws_documentation()
    {
        var headers = new[]
        {
            ("host", "examplebucket.s3.amazonaws.com"),
            ("range", "bytes=0-9"),
            ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("x-amz-date", "20130524T000000Z"),
        }.ToLookup(h => h.Item1, h => h.Item2);
        string[] signed = ["host", "range", "x-amz-content-sha256", "x-amz-date"];

        // S3 does not encode the path a second time; "test.txt" reads the same either way.
        var canonical = SigV4Signature.CanonicalRequest("GET", "/test.txt", "", headers, signed, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        var stringToSign = SigV4Signature.StringToSign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", canonical);
        var signature = SigV4Signature.Signature(SigV4Signature.SigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3"), stringToSign);

        Assert.EndsWith("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972", stringToSign, StringComparison.Ordinal);
        Assert.Equal("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", signature);
    }

    [Fact]
    public void Signs_the_get_vanilla_case_of_the_aws_test_suite()
    {
        var headers = new[] { ("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z") }.ToLookup(h => h.Item1, h => h.Item2);

        var canonical = SigV4Signature.CanonicalRequest("GET", "/", "", headers, ["host", "x-amz-date"], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        var signature = SigV4Signature.Signature(
            SigV4Signature.SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service"),
            SigV4Signature.StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", canonical));

        Assert.Equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", signature);
    }

    [Fact]
    public void Parses_a_well_formed_authorization_header()
    {
        Assert.True(SigV4Authorization.TryParse(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ecr/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            out var authorization,
            out _));

        Assert.Equal("AKIDEXAMPLE", authorization!.AccessKeyId);
        Assert.Equal("20150830/us-east-1/ecr/aws4_request", authorization.Scope);
        Assert.Equal(["content-type", "host", "x-amz-date", "x-amz-target"], authorization.SignedHeaders);
    }

    [Theory]
    [InlineData("Basic YWRtaW46cGFzc3dvcmQ=", "algorithm")]
    [InlineData("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", "Credential")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKID/2015/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", "Credential must")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/ecr/aws4_request, SignedHeaders=x-amz-date;host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", "sorted")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=XYZ", "Signature must")]
    public void Refuses_a_malformed_authorization_header_saying_why(string header, string reason)
    {
        Assert.False(SigV4Authorization.TryParse(header, out _, out var problem));
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }
}
