# acl.auth.php
# <?php exit()?>
# Don't modify the lines above
*               @ALL          1
*               @user         8
