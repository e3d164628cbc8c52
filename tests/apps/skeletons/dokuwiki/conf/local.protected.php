<?php
/**
 * lambda-fpm settings (a protected file: the admin's config manager cannot override them).
 */
$conf['savedir'] = rtrim(getenv('TMPDIR') ?: sys_get_temp_dir(), '/') . '/dokuwiki/data';
$conf['title'] = 'DokuWiki on lambda-fpm';
// URLs like /doku.php/wiki:syntax: PATH_INFO, which lambda-fpm passes like nginx; no rewrite rules.
$conf['userewrite'] = 2;
$conf['useacl'] = 1;
$conf['superuser'] = '@admin';
// No outbound HTTP (update messages from dokuwiki.org).
$conf['updatecheck'] = 0;
// A missing page answers 404 (DokuWiki's default is 200 with "This topic does not exist yet").
$conf['send404'] = 1;
