<?php
/**
 * Plugin Name: lambda-fpm
 * Description: Installed as wp-content/mu-plugins/lambda-fpm.php: settings for a read-only task root.
 */

// Pretty permalinks are routed by lambda-fpm like nginx's try_files: tell WordPress so.
add_filter('got_url_rewrite', '__return_true');

// Uploads go to $TMPDIR (the only writable place); use an S3 offload plugin to keep them.
add_filter('upload_dir', function (array $dirs): array {
    $base = rtrim(getenv('TMPDIR') ?: '/tmp', '/') . '/wp-uploads';
    $dirs['path'] = $base . $dirs['subdir'];
    $dirs['basedir'] = $base;
    return $dirs;
});

// No outbound HTTP at all (update checks, browse-happy, oEmbed, feeds): the test suite must not
// leave the machine. Remove this filter in a real deployment that has internet access.
add_filter('pre_http_request', function ($preempt, $args, $url) {
    return new WP_Error('http_request_blocked', 'outbound HTTP disabled by lambda-fpm mu-plugin: ' . $url);
}, 10, 3);

// The emoji script would fetch images from a CDN.
remove_action('wp_head', 'print_emoji_detection_script', 7);
remove_action('admin_print_scripts', 'print_emoji_detection_script');
