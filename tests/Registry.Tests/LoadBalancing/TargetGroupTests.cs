using Registry.LoadBalancing;

namespace Registry.Tests.LoadBalancing;

public sealed class TargetGroupTests
{
    private static TargetGroup Group(string name = "web", string listener = "http://127.0.0.1:8080", string? host = null, string path = "/", string codes = "200") =>
        TargetGroup.Create(name, new TargetGroupOptions { Listener = listener, Host = host, PathPrefix = path, SuccessCodes = codes });

    [Theory]
    [InlineData("/api", "/api", true)]
    [InlineData("/api", "/api/", true)]
    [InlineData("/api", "/api/users", true)]
    [InlineData("/api", "/apix", false)]
    [InlineData("/api/", "/api/users", true)]
    [InlineData("/api/", "/api", true)]
    [InlineData("/", "/anything", true)]
    public void A_path_prefix_takes_whole_segments(string prefix, string path, bool matches) =>
        Assert.Equal(matches, Group(path: prefix).Matches("example.com", path));

    [Theory]
    [InlineData("api.example.com", "API.example.com", true)]
    [InlineData("api.example.com", "www.example.com", false)]
    [InlineData("*.example.com", "a.example.com", true)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "a.example.org", false)]
    public void A_host_rule_matches_the_name_or_a_wildcard_subdomain(string rule, string host, bool matches) =>
        Assert.Equal(matches, Group(host: rule).Matches(host, "/"));

    [Fact]
    public void Routing_prefers_a_host_rule_then_the_longest_path()
    {
        var any = Group("any");
        var api = Group("api", path: "/api");
        var apiV2 = Group("api-v2", path: "/api/v2");
        var admin = Group("admin", host: "admin.example.com");
        TargetGroup[] listener = [any, api, apiV2, admin];

        Assert.Same(apiV2, TargetGroup.Route(listener, "www.example.com", "/api/v2/x"));
        Assert.Same(api, TargetGroup.Route(listener, "www.example.com", "/api/v1"));
        Assert.Same(any, TargetGroup.Route(listener, "www.example.com", "/home"));
        Assert.Same(admin, TargetGroup.Route(listener, "admin.example.com", "/api/v2"));
        Assert.Null(TargetGroup.Route([api], "www.example.com", "/home"));
    }

    [Theory]
    [InlineData("200", 200, true)]
    [InlineData("200", 204, false)]
    [InlineData("200,204", 204, true)]
    [InlineData("200-399", 302, true)]
    [InlineData("200-399", 404, false)]
    public void Success_codes_are_codes_lists_and_ranges(string codes, int status, bool passes) =>
        Assert.Equal(passes, Group(codes: codes).IsSuccess(status));

    [Theory]
    [InlineData("-web", "http://127.0.0.1:8080", "/", "200", "name")]
    [InlineData("a-name-that-is-longer-than-32-chars", "http://127.0.0.1:8080", "/", "200", "name")]
    [InlineData("web", "https://127.0.0.1:8080", "/", "200", "Listener")]
    [InlineData("web", "http://127.0.0.1", "/", "200", "Listener")]
    [InlineData("web", "127.0.0.1:8080", "/", "200", "Listener")]
    [InlineData("web", "http://127.0.0.1:8080", "api", "200", "PathPrefix")]
    [InlineData("web", "http://127.0.0.1:8080", "/", "ok", "SuccessCodes")]
    [InlineData("web", "http://127.0.0.1:8080", "/", "100", "SuccessCodes")]
    [InlineData("web", "http://127.0.0.1:8080", "/", "399-200", "backwards")]
    public void Bad_settings_are_refused_naming_the_setting(string name, string listener, string path, string codes, string named)
    {
        var error = Assert.Throws<ArgumentException>(() => Group(name, listener, path: path, codes: codes));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_timings_are_refused()
    {
        Assert.Throws<ArgumentException>(() => TargetGroup.Create("web", new TargetGroupOptions { Listener = "http://127.0.0.1:8080", HealthCheckInterval = TimeSpan.FromSeconds(2), HealthCheckTimeout = TimeSpan.FromSeconds(3) }));
        Assert.Throws<ArgumentException>(() => TargetGroup.Create("web", new TargetGroupOptions { Listener = "http://127.0.0.1:8080", HealthyThreshold = 0 }));
        Assert.Throws<ArgumentException>(() => TargetGroup.Create("web", new TargetGroupOptions { Listener = "http://127.0.0.1:8080", DeregistrationDelay = TimeSpan.FromSeconds(-1) }));
    }

    [Fact]
    public void Groups_sharing_a_listener_need_one_address_and_different_rules()
    {
        var clash = new LoadBalancerOptions();
        clash.TargetGroups["a"] = new TargetGroupOptions { Listener = "http://127.0.0.1:8080", PathPrefix = "/api" };
        clash.TargetGroups["b"] = new TargetGroupOptions { Listener = "http://127.0.0.1:8080", PathPrefix = "/api/" };
        Assert.Contains("same listener, host and path", Assert.Throws<ArgumentException>(() => TargetGroups.From(clash)).Message, StringComparison.Ordinal);

        var addresses = new LoadBalancerOptions();
        addresses.TargetGroups["a"] = new TargetGroupOptions { Listener = "http://127.0.0.1:8080" };
        addresses.TargetGroups["b"] = new TargetGroupOptions { Listener = "http://0.0.0.0:8080", PathPrefix = "/b" };
        Assert.Contains("different addresses", Assert.Throws<ArgumentException>(() => TargetGroups.From(addresses)).Message, StringComparison.Ordinal);

        var shared = new LoadBalancerOptions();
        shared.TargetGroups["a"] = new TargetGroupOptions { Listener = "http://127.0.0.1:8080" };
        shared.TargetGroups["b"] = new TargetGroupOptions { Listener = "http://127.0.0.1:8080", PathPrefix = "/b" };
        shared.TargetGroups["c"] = new TargetGroupOptions { Listener = "http://127.0.0.1:8081" };
        var groups = TargetGroups.From(shared);
        Assert.Equal(2, groups.ByPort[8080].Count);
        Assert.Equal(["http://127.0.0.1:8080", "http://127.0.0.1:8081"], groups.ListenerUrls.Order(StringComparer.Ordinal));
    }
}
