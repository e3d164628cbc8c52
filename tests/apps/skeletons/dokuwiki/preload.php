<?php
/**
 * DokuWiki on lambda-fpm (replaces Debian's inc/preload.php, which points at /etc/dokuwiki).
 * Configuration lives read-only in the task root's conf/; the wiki's data (pages, cache, locks, index)
 * must be writable, so the first request of a Lambda environment copies the seed data/ shipped in the
 * task root to $TMPDIR/dokuwiki/data (conf/local.protected.php points savedir there).
 */
if (!defined('DOKU_CONF')) {
    define('DOKU_CONF', DOKU_INC . 'conf/');
}

(function () {
    $target = rtrim(getenv('TMPDIR') ?: sys_get_temp_dir(), '/') . '/dokuwiki/data';
    if (is_dir($target)) {
        return;
    }
    $staging = $target . '.' . getmypid();
    $seed = DOKU_INC . 'data';
    $items = new RecursiveIteratorIterator(
        new RecursiveDirectoryIterator($seed, FilesystemIterator::SKIP_DOTS),
        RecursiveIteratorIterator::SELF_FIRST
    );
    @mkdir($staging, 0700, true);
    foreach ($items as $item) {
        $to = $staging . substr($item->getPathname(), strlen($seed));
        if ($item->isDir()) {
            @mkdir($to, 0700, true);
        } else {
            copy($item->getPathname(), $to);
        }
    }
    if (!@rename($staging, $target)) {
        // Another process won the race: keep its copy.
        exec('rm -rf ' . escapeshellarg($staging));
    }
})();
