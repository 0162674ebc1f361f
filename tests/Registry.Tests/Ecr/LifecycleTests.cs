using Registry.AwsApi;
using Registry.Ecr.Lifecycle;

namespace Registry.Tests.Ecr;

/// <summary>Lifecycle policies: ECR's validation rules and its evaluation order.</summary>
public sealed class LifecycleTests
{
    private static readonly DateTime Now = new(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData("""{"rules":[]}""", "non-empty")]
    [InlineData("""{"rules":[{"rulePriority":0,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}""", "rulePriority must be a positive integer")]
    [InlineData("""{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"delete"}}]}""", "action.type")]
    [InlineData("""{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}""", "exactly one of tagPrefixList or tagPatternList")]
    [InlineData("""{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}""", "only for tagStatus 'tagged'")]
    [InlineData("""{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}""", "countUnit is not allowed")]
    [InlineData("""{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countNumber":1},"action":{"type":"expire"}}]}""", "countUnit 'days'")]
    [InlineData("""{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":0},"action":{"type":"expire"}}]}""", "countNumber")]
    [InlineData("""{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},{"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}""", "must have the highest rulePriority")]
    [InlineData("""{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}""", "more than one rule")]
    [InlineData("""{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["*a*b*c*d*e*"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}""", "more than 4 wildcards")]
    public void An_invalid_policy_is_refused_with_the_reason(string policy, string reason)
    {
        var error = Assert.Throws<AwsApiException>(() => LifecyclePolicy.Parse(policy));

        Assert.Equal("InvalidParameterException", error.Type);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rules_claim_images_in_priority_order_and_keep_the_newest()
    {
        var policy = LifecyclePolicy.Parse("""
            {"rules":[
              {"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}},
              {"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}},
              {"rulePriority":3,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}
            ]}
            """);
        LifecycleImage[] images =
        [
            new("sha256:p1", ["prod-1"], Now.AddDays(-30)),
            new("sha256:p2", ["prod-2"], Now.AddDays(-20)),
            new("sha256:p3", ["prod-3", "latest"], Now.AddDays(-1)),
            new("sha256:u-old", [], Now.AddDays(-10)),
            new("sha256:u-new", [], Now.AddDays(-2)),
            new("sha256:dev-old", ["dev-1"], Now.AddDays(-5)),
            new("sha256:dev-new", ["dev-2"], Now.AddDays(-3)),
        ];

        var expired = LifecycleEvaluator.Evaluate(policy, images, Now);

        Assert.Equal(
            [("sha256:p1", 1), ("sha256:u-old", 2), ("sha256:dev-old", 3)],
            expired.Select(e => (e.Image.Digest, e.RulePriority)).ToList());
    }

    [Fact]
    public void Several_prefixes_select_only_images_with_a_tag_for_each()
    {
        var policy = LifecyclePolicy.Parse("""{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["release-*","*-stable"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}""");
        LifecycleImage[] images =
        [
            new("sha256:both-old", ["release-1", "v1-stable"], Now.AddDays(-3)),
            new("sha256:both-new", ["release-2", "v2-stable"], Now.AddDays(-1)),
            new("sha256:one", ["release-0"], Now.AddDays(-9)),
        ];

        var expired = LifecycleEvaluator.Evaluate(policy, images, Now);

        Assert.Equal(["sha256:both-old"], expired.Select(e => e.Image.Digest));
    }
}
